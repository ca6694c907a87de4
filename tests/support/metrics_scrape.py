"""
The metrics endpoint of a real node read over HTTP, page and samples.
"""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import defer, reactor
from twisted.web.client import Agent, readBody

from neo_twisted.node.service import NodeService


@defer.inlineCallbacks
def fetch(port: int, path: str = "/metrics") -> Any:
    """
    GET a page of the metrics endpoint; fires with (status, content type, body).
    """
    response = yield Agent(reactor).request(b"GET", f"http://127.0.0.1:{port}{path}".encode())
    body = yield readBody(response)
    content_type = response.headers.getRawHeaders(b"content-type", [b""])[0]
    return response.code, content_type.decode(), body.decode()


@defer.inlineCallbacks
def scrape(node: NodeService) -> Any:
    """
    The node's samples as {(name, sorted labels): value}.
    """
    assert node.metrics is not None and node.metrics.port is not None
    _, _, text = yield fetch(node.metrics.port)
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples
