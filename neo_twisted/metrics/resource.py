# -*- test-case-name: tests.integration.test_metrics -*-
"""
The C{/metrics} page, rendered on the reactor thread.

C{prometheus_client.twisted.MetricsResource} renders through WSGI on the reactor's
thread pool; our collector reads the node's live state (peers, pool, syncs),
which only the reactor thread may touch. So the page is rendered where that state
lives, which is cheap: a scrape is a few dozen families.
"""

from __future__ import annotations

from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry
from twisted.internet.interfaces import IReactorTime
from twisted.web.resource import Resource
from twisted.web.server import Request, Site


class MetricsPage(Resource):
    """
    The text exposition format of one registry.
    """

    isLeaf = True

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._registry = registry

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(  # type: ignore[no-untyped-call]
            b"Content-Type", CONTENT_TYPE_LATEST.encode("ascii"))
        return generate_latest(self._registry)


class _Pointer(Resource):
    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(  # type: ignore[no-untyped-call]
            b"Content-Type", b"text/plain; charset=utf-8")
        return b"neo_twisted: the metrics are at /metrics\n"


class MetricsSite(Site):
    """
    A site without an access log: Prometheus scrapes every few seconds, and a line
    for each would bury the node's own log.
    """

    def log(self, request: object) -> None:
        pass


def metrics_site(registry: CollectorRegistry, reactor: IReactorTime | None = None) -> Site:
    """
    The site serving C{/metrics}.
    """
    root = Resource()  # type: ignore[no-untyped-call]
    root.putChild(b"metrics", MetricsPage(registry))
    root.putChild(b"", _Pointer())  # type: ignore[no-untyped-call]
    site = MetricsSite(root, reactor=reactor)  # type: ignore[no-untyped-call]
    site.displayTracebacks = False
    site.noisy = False
    return site
