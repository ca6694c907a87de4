"""
JSON-RPC errors, with the codes and messages of the reference node.
"""

from __future__ import annotations

from neo_twisted.core.jsonify import JSON, Json

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
#: Implementation-defined (the -32000..-32099 range): too many requests at once.
SERVER_BUSY = -32000
#: An answer over the server's byte cap (geth's code for the same).
RESPONSE_TOO_LARGE = -32003
#: RpcSecurity's: bad credentials or a method the operator disabled.
ACCESS_DENIED = -400
#: The reference node's code for failed lookups (unknown block, transaction, asset...).
UNKNOWN_ITEM = -100

MESSAGES = {
    PARSE_ERROR: "Parse error",
    INVALID_REQUEST: "Invalid Request",
    METHOD_NOT_FOUND: "Method not found",
    INVALID_PARAMS: "Invalid params",
    INTERNAL_ERROR: "Internal error",
    SERVER_BUSY: "Server busy",
    RESPONSE_TOO_LARGE: "Response too large",
    ACCESS_DENIED: "Access denied",
}


class RpcError(Exception):
    """
    An error a method reports to its caller as a JSON-RPC error object.

    @ivar data: more detail for the caller (which rule refused a transaction, which
        parameter is wrong), sent as the error's C{data} member when not None.
    """

    def __init__(self, code: int, message: str | None = None, data: Json = None) -> None:
        message = MESSAGES.get(code, "Error") if message is None else message
        super().__init__(code, message, data)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> JSON:
        error: JSON = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_params(reason: str) -> RpcError:
    return RpcError(INVALID_PARAMS, data=reason)


def unknown(what: str) -> RpcError:
    """
    -100 with the reference's message (C{"Unknown block"}, C{"Unknown transaction"}...).
    """
    return RpcError(UNKNOWN_ITEM, what)
