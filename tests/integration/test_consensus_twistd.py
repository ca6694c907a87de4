"""
End to end: four C{twistd neonode} validators on loopback make blocks, one of
them including a transaction sent to another by RPC; a fifth node, no
validator, joins late and syncs their chain.

The protocol file is the bundled privnet's with one second per block (the
genesis block depends only on the validators), so the test takes seconds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from twisted.internet import defer, reactor, task

from neo_twisted.core.components import CoinReference, TransactionOutput
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import NEO_ASSET_ID, ContractTransaction
from neo_twisted.ledger.chain import Ledger
from neo_twisted.ledger.check import check_store, store_info
from neo_twisted.ledger.generator import account_keys
from neo_twisted.ledger.settings import load_protocol
from neo_twisted.ledger.verify import serial_map
from tests.support.ledger_samples import PRIVNET_GENESIS, ROOT
from tests.support.mempool_samples import HOLDER_KEYS, HOLDER_SCRIPT, signed
from tests.support.node_cluster import wait_until
from tests.support.rpc_client import rpc_call
from tests.support.twistd_case import TwistdCase

BLOCKS = 6
_RPC = re.compile(r"JSON-RPC on http://127\.0\.0\.1:(\d+)/")


def genesis_neo_transfer() -> Transaction:
    """
    All the genesis NEO, from the validators' majority multisig to a new account.
    """
    issue = PRIVNET_GENESIS.transactions[3]
    [output] = issue.outputs
    tx = ContractTransaction(inputs=(CoinReference(issue.hash, 0),),
                             outputs=(TransactionOutput(NEO_ASSET_ID, output.value,
                                                        account_keys(99, 1)[0].script_hash),))
    return signed(tx, multisig=(HOLDER_SCRIPT, HOLDER_KEYS))


class ValidatorProcessTests(TwistdCase):
    timeout = 240

    def setUp(self) -> None:
        self.base = Path(self.mktemp()).resolve()
        self.base.mkdir()
        document = json.loads((ROOT / "protocol.json").read_text())
        document["ProtocolConfiguration"]["SecondsPerBlock"] = 1
        self.config = self.base / "protocol.json"
        self.config.write_text(json.dumps(document))

    def height(self, datadir: Path) -> int:
        try:
            return int(store_info(datadir)["block_height"])
        except Exception:
            return -1

    @defer.inlineCallbacks
    def test_validators_make_blocks_and_a_late_node_syncs(self) -> Any:
        validators = []
        ports: list[int] = []
        for i in range(1, 5):
            datadir = self.base / f"v{i}"
            seeds = [f"127.0.0.1:{port}" for port in ports] or ["127.0.0.1:1"]
            # the development keys are readable by all in a checkout
            options = ["--allow-readable-key", "--validator-key",
                       str(ROOT / "devkeys" / f"privnet-validator-{i}.wif"),
                       "--min-peers", "3", "--rpc-port", "0"]
            for seed in seeds:
                options += ["--seed", seed]
            process, log = self.spawn(f"v{i}", datadir, *options)
            ports.append((yield self.listening_port(process, log)))
            validators.append((process, log, datadir))

        def made(count: int) -> bool:
            for process, log, _ in validators:
                if process.poll() is not None:
                    raise AssertionError(f"{log.name} exited: {self.text(log)[-2000:]}")
            return all(self.height(d) >= count for _, _, d in validators)

        yield wait_until(lambda: made(BLOCKS), f"{BLOCKS} blocks on every validator",
                         timeout=150, interval=0.2,
                         describe=lambda: str([self.height(d) for _, _, d in validators]))
        rpc_port = int(_RPC.findall(self.text(validators[1][1]))[0])
        tx = genesis_neo_transfer()
        answer = yield rpc_call(rpc_port, "sendrawtransaction", tx.to_bytes().hex())
        self.assertEqual(answer.get("result"), True, answer)
        rpc_last = int(_RPC.findall(self.text(validators[3][1]))[0])
        deadline = reactor.seconds() + 60
        while True:  # confirmed, as another validator's RPC sees it
            found = yield rpc_call(rpc_last, "getrawtransaction", str(tx.hash), 1)
            result = found.get("result") or {}
            if result.get("blockhash"):
                break
            self.assertLess(reactor.seconds(), deadline, f"never confirmed: {found}")
            yield task.deferLater(reactor, 0.2, lambda: None)
        late_dir = self.base / "late"
        late, late_log = self.spawn("late", late_dir, "--seed", f"127.0.0.1:{ports[2]}")
        yield self.listening_port(late, late_log)
        target = max(self.height(d) for _, _, d in validators) + 2
        yield wait_until(lambda: self.height(late_dir) >= target and made(target),
                         "the late node to sync the growing chain", timeout=120, interval=0.2,
                         describe=lambda: str([self.height(d) for _, _, d in validators]
                                              + [self.height(late_dir)]))
        for process, log, _ in [*validators, (late, late_log, late_dir)]:
            yield self.terminate(process, log)
        logs = "".join(self.text(log) for _, log, _ in validators)
        self.assertIn("made with", logs)
        settings = load_protocol(self.config)
        datadirs = [d for _, _, d in validators] + [late_dir]
        tips = []
        for datadir in datadirs:
            self.assertEqual(check_store(datadir, settings), [])
            ledger = Ledger.open(datadir, settings, serial_map)
            try:
                common = target
                tips.append([ledger.get_block_hash(i) for i in range(common + 1)])
            finally:
                ledger.close()
        self.assertTrue(all(t == tips[0] for t in tips))
