# -*- test-case-name: tests.unit.test_rpc_server,tests.integration.test_hostile_rpc -*-
"""
Bytes of answer: what one HTTP request may get back, and what the server builds at once.

A 7.5 KB batch of 100 C{getrawmempool} on a full pool used to build a 483 MB answer
in 12 s on the reactor. Now each call's answer is estimated before it is built
(where the method can say, as C{getrawmempool} can from the pool's size) and
reserved from the request's budget; a call that does not fit is answered with an
error and never run, and once a request's budget is spent its remaining calls are
refused unrun. Answers whose size only the result tells are checked once encoded.
The server's total keeps many such requests at once from adding up.
"""

from __future__ import annotations

from neo_twisted.rpc.errors import RESPONSE_TOO_LARGE, SERVER_BUSY, RpcError

#: Bytes one HTTP request's answer may hold (a batch: all its answers together).
DEFAULT_MAX_ANSWER = 16 * 1024 * 1024
#: Answers being built at once, in units of L{DEFAULT_MAX_ANSWER}.
SERVER_ANSWERS = 4


class AnswerBudget:
    """
    The server's: bytes of answers being built or held for requests not yet answered.
    """

    def __init__(self, per_request: int = DEFAULT_MAX_ANSWER,
                 total: int | None = None) -> None:
        if per_request < 1:
            raise ValueError(f"an answer may not be capped at {per_request} bytes")
        self.per_request = per_request
        self.total = SERVER_ANSWERS * per_request if total is None else total
        self.used = 0

    def open(self) -> RequestBudget:
        """
        The budget of one HTTP request; L{RequestBudget.close} it when answered.
        """
        return RequestBudget(self)


class RequestBudget:
    """
    What one HTTP request's answers have taken of their cap and of the server's total.
    """

    def __init__(self, server: AnswerBudget) -> None:
        self._server = server
        self.used = 0
        #: Whether a call was refused for size: later calls are refused unrun.
        self.spent = False

    def reserve(self, size: int) -> RpcError | None:
        """
        Take C{size} bytes for an answer about to be built; the error to answer
        instead (None: go ahead).
        """
        if not size and not self.spent:
            return None  # nothing to take (most calls, before their answer is known)
        cap = self._server.per_request
        if self.spent or self.used + size > cap:
            self.spent = True
            return RpcError(RESPONSE_TOO_LARGE,
                            data=f"the answer would exceed {cap} bytes (--rpc-max-answer)")
        if self._server.used + size > self._server.total:
            return RpcError(SERVER_BUSY, data=f"the server holds {self._server.used} bytes "
                                              "of answers: try again later")
        self.used += size
        self._server.used += size
        return None

    def settle(self, reserved: int, size: int) -> RpcError | None:
        """
        Replace an estimate by the encoded answer's real C{size}.
        """
        if reserved:
            self._release(reserved)
        return self.reserve(size)

    def close(self) -> None:
        """
        The answer is written (or its client gone): give everything back.
        """
        self._release(self.used)

    def _release(self, size: int) -> None:
        size = min(size, self.used)
        self.used -= size
        self._server.used -= size
