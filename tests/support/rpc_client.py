"""
A minimal JSON-RPC client for end-to-end tests: one POST with twisted.web's Agent.
"""

from __future__ import annotations

import json
from io import BytesIO
from typing import Any

from twisted.internet import defer, reactor
from twisted.web.client import Agent, FileBodyProducer, readBody
from twisted.web.http_headers import Headers
from twisted.web.iweb import IPolicyForHTTPS


@defer.inlineCallbacks
def rpc_post(url: str, body: Any, policy: IPolicyForHTTPS | None = None) -> Any:
    """
    POST C{body} (JSON-encoded) to C{url}; fires with (HTTP status, decoded JSON or None).
    """
    agent = Agent(reactor) if policy is None else Agent(reactor, contextFactory=policy)
    response = yield agent.request(
        b"POST", url.encode("ascii"), Headers({b"Content-Type": [b"application/json"]}),
        FileBodyProducer(BytesIO(json.dumps(body).encode())))
    data = yield readBody(response)
    return response.code, (json.loads(data) if data else None)


@defer.inlineCallbacks
def rpc_call(port: int, method: str, *params: Any) -> Any:
    """
    Call one method on 127.0.0.1:C{port}; fires with the whole response object.
    """
    _, answer = yield rpc_post(f"http://127.0.0.1:{port}/",
                               {"jsonrpc": "2.0", "id": 1, "method": method,
                                "params": list(params)})
    return answer
