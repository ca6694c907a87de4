"""
The JSON-RPC server's counts of requests by method and outcome (the metrics'
C{neo_rpc_requests_total}), taken where each request's answer is known.
"""

from __future__ import annotations

import json

from neo_twisted.rpc.budget import AnswerBudget
from neo_twisted.rpc.server import JsonRpcResource
from neo_twisted.rpc.site import make_site
from tests.support.rpc_server_helpers import Methods, ServerTestCase, call


class CountTests(ServerTestCase):
    def counts(self) -> dict[tuple[str, str], int]:
        return dict(self.resource.calls)

    def test_results_and_method_errors(self) -> None:
        """
        Each call under its method: C{ok}, or the code of the error it answered with.
        """
        self.post(call("add", (1, 2)))
        self.post(call("add", (1, 2)))
        self.post(call("unknown_block"))
        self.post(call("bad_hex", ("zz",)))
        self.post(call("broken"))
        self.flushLoggedErrors(RuntimeError)
        self.post(call("unencodable"))
        self.flushLoggedErrors(TypeError)
        self.assertEqual(self.counts(), {
            ("add", "ok"): 2, ("unknown_block", "-100"): 1, ("bad_hex", "-32602"): 1,
            ("broken", "-32603"): 1, ("unencodable", "-32603"): 1})

    def test_unknown_methods_share_one_label(self) -> None:
        """
        A thousand made-up names (and names that are not strings) make one label.
        """
        batch = [call(f"made_up_{n}", id_=n) for n in range(5)]
        for _ in range(200):
            self.post(batch)
        self.post(call(["not", "a", "name"]))  # type: ignore[arg-type]
        self.assertEqual(self.counts(), {("unknown", "-32601"): 1000,
                                         ("unknown", "-32600"): 1})

    def test_invalid_requests(self) -> None:
        """
        A request refused before its method runs counts under its method when the
        server has it; an unparsable body and a bad batch under C{unknown}.
        """
        self.post({**call("echo"), "id": [1]})
        self.post_raw(b"{not json")
        self.post([])
        self.post([call("echo")] * 6)  # over max_batch
        self.post([7])
        self.assertEqual(self.counts(), {("echo", "-32600"): 1, ("unknown", "-32700"): 1,
                                         ("unknown", "-32600"): 3})

    def test_batches_and_notifications(self) -> None:
        """
        A batch counts each of its requests; a notification (no answer sent) counts too.
        """
        notification = {"jsonrpc": "2.0", "method": "notify", "params": [1]}
        self.post([call("echo", id_=1), call("add", (1, 1), id_=2), notification])
        self.assertEqual(self.counts(), {("echo", "ok"): 1, ("add", "ok"): 1,
                                         ("notify", "ok"): 1})

    def test_later_answers(self) -> None:
        """
        A method answering later is counted when it answers.
        """
        self.post_raw(json.dumps(call("later")).encode())
        self.assertEqual(self.counts(), {})
        self.methods.later[0].callback("done")
        self.assertEqual(self.counts(), {("later", "ok"): 1})

    def test_busy_server(self) -> None:
        """
        A request turned away because others are being answered counts its code.
        """
        for _ in range(2):
            self.post_raw(json.dumps(call("later")).encode())
        self.post(call("echo"))
        self.assertEqual(self.counts(), {("unknown", "-32000"): 1})
        for d in self.methods.later:
            d.callback(None)


class BudgetCountTests(ServerTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.resource = JsonRpcResource(Methods().table(), disabled={"add"},
                                        budget=AnswerBudget(200))
        self.site = make_site(self.resource, reactor=self.clock)

    def test_refusals(self) -> None:
        """
        A disabled method and an answer over the cap are counted with their codes.
        """
        self.post(call("add", (1, 2)))
        self.post(call("echo", ("x" * 500,)))
        self.assertEqual(dict(self.resource.calls), {("add", "-400"): 1,
                                                     ("echo", "-32003"): 1})
