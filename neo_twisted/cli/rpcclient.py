# -*- test-case-name: tests.integration.test_cli_status -*-
"""
A blocking JSON-RPC client for the console commands (C{status}, C{localnet}).

The commands are short synchronous programs, not servers, so a plain
C{urllib} POST per call is all they need; every failure becomes a
L{CommandError} (or L{RpcUnavailableError} for a node not listening yet) that says
which node and why.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from neo_twisted.cli.errors import CommandError

#: The JSON-RPC code of a method the server does not have.
METHOD_NOT_FOUND = -32601


class RpcUnavailableError(CommandError):
    """
    Nothing answered at the address (the node is down or still starting).
    """


class RpcFailedError(CommandError):
    """
    The node answered with a JSON-RPC error.

    @ivar code: the error's code.
    """

    def __init__(self, message: str, code: int | None) -> None:
        super().__init__(message)
        self.code = code


class RpcClient:
    """
    Calls on one node's JSON-RPC address.
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    def call(self, method: str, *params: Any) -> Any:
        """
        The result of one call.

        @raise RpcUnavailableError: the node cannot be reached.
        @raise RpcFailedError: it answered with an error.
        @raise CommandError: it answered with something that is not JSON-RPC.
        """
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                           "params": list(params)}).encode()
        request = urllib.request.Request(self.url, data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as e:
            raise CommandError(f"{self.url}: HTTP {e.code} {e.reason}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise RpcUnavailableError(f"cannot reach {self.url}: {reason}") from None
        except ValueError:
            raise CommandError(f"{self.url} did not answer with JSON") from None
        if not isinstance(answer, dict):
            raise CommandError(f"{self.url} did not answer with a JSON-RPC response")
        error = answer.get("error")
        if error is not None:
            code = error.get("code") if isinstance(error, dict) else None
            raise RpcFailedError(f"{method}: {error}", code)
        return answer.get("result")

    def call_optional(self, method: str, *params: Any) -> Any:
        """
        As L{call}, but C{None} when the node has no such method.
        """
        try:
            return self.call(method, *params)
        except RpcFailedError as e:
            if e.code == METHOD_NOT_FOUND:
                return None
            raise
