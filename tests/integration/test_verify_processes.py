"""
Tests for L{neo_twisted.ledger.verify.ProcessMapper}, the witness checks of C{neonode
import} in worker processes, checked ahead of the ledger asking for them.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import signal
from pathlib import Path

import attrs
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from neo_twisted.cli import chain as cli_chain
from neo_twisted.cli import main
from neo_twisted.core.block import Block, Header
from neo_twisted.crypto.budget import FREE_VERIFICATION_GAS_2_12
from neo_twisted.crypto.scripts import script_hash
from neo_twisted.ledger import verify as verify_module
from neo_twisted.ledger.chain import Ledger, Verdict
from neo_twisted.ledger.chainacc import read_chain_records, write_chain_file
from neo_twisted.ledger.generator import generate_chain, load_dev_keys
from neo_twisted.ledger.genesis import genesis_block
from neo_twisted.ledger.settings import load_protocol
from neo_twisted.ledger.verify import (
    VERIFIER_NICENESS,
    ProcessMapper,
    WitnessJob,
    check_witness,
    serial_map,
    serve,
    witness_job,
)
from tests.support.store_compare import dump_store, store_differences
from tests.support.store_compare import heights as store_heights
from tests.support.witness_samples import wide_multisig, wide_witness

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = load_protocol(ROOT / "protocol.json")
KEYS = load_dev_keys(ROOT / "devkeys" / "privnet.json", SETTINGS)
BLOCKS: list[Block] = list(generate_chain(SETTINGS, KEYS, 40, 1, seed=11))


def jobs_of(blocks: list[Block]) -> list[WitnessJob]:
    previous: Header = genesis_block(SETTINGS.standby_validators).header
    jobs = []
    for block in blocks:
        jobs.append(witness_job(block.header, previous))
        previous = block.header
    return jobs


def spoiled(job: WitnessJob) -> WitnessJob:
    """
    The job with one bit of its first signature flipped.
    """
    invocation = bytearray(job.invocation)
    invocation[5] ^= 1
    return attrs.evolve(job, invocation=bytes(invocation))


JOBS = jobs_of(BLOCKS)
#: Every fourth witness spoiled: the workers must say so.
MIXED = [spoiled(job) if i % 4 == 3 else job for i, job in enumerate(JOBS)]


class ProcessMapperTests(SynchronousTestCase):
    def mapper(self, workers: int = 2) -> ProcessMapper:
        mapper = ProcessMapper(workers, min_jobs=1)
        self.addCleanup(mapper.shutdown)
        return mapper

    def test_same_results_as_serial(self) -> None:
        """
        Checked in worker processes, good and spoiled witnesses come out as on this thread.
        """
        mapper = self.mapper()
        self.assertEqual(mapper(check_witness, MIXED), serial_map(check_witness, MIXED))
        self.assertEqual(len(mapper._pool), 2)

    def test_workers_yield_to_the_node(self) -> None:
        """
        The verifier processes run at a lower priority than the node that starts them.
        """
        if not hasattr(os, "getpriority"):
            raise SkipTest("no Unix priorities here")
        mapper = self.mapper()
        mapper(check_witness, JOBS)
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        for worker in mapper._pool:
            theirs = os.getpriority(os.PRIO_PROCESS, worker.process.pid)
            self.assertEqual(theirs, min(19, ours + VERIFIER_NICENESS))

    def test_prefetched(self) -> None:
        """
        Results checked ahead are the ones handed out, for exactly the same jobs; a job
        that was not checked ahead is checked then.
        """
        mapper = self.mapper()
        mapper.prefetch(MIXED[:30])
        asked = [*MIXED[10:30], *MIXED[30:]]
        self.assertEqual(mapper(check_witness, asked), serial_map(check_witness, asked))
        # the results asked for are not kept; the others wait
        self.assertEqual(set(mapper._prefetched), set(MIXED[:10]))

    def test_changed_job_is_checked_again(self) -> None:
        """
        A result checked ahead is not reused for a job that differs in anything.
        """
        mapper = self.mapper()
        mapper.prefetch(JOBS)
        other = [attrs.evolve(job, expected_hash=bytes(20)) for job in JOBS]
        self.assertEqual(mapper(check_witness, other), [False] * len(other))

    def test_few_jobs_stay_here(self) -> None:
        """
        Below the threshold no worker is started.
        """
        mapper = ProcessMapper(2, min_jobs=len(JOBS) + 1)
        self.addCleanup(mapper.shutdown)
        mapper.prefetch(JOBS)
        self.assertEqual(mapper(check_witness, MIXED), serial_map(check_witness, MIXED))
        self.assertEqual(mapper._pool, [])

    def test_other_checks_stay_here(self) -> None:
        """
        Only L{check_witness} goes to the workers.
        """
        mapper = self.mapper()
        self.assertEqual(mapper(lambda job: job in JOBS[:3], JOBS[:5]),
                         [True, True, True, False, False])
        self.assertEqual(mapper._pool, [])

    def test_dead_worker(self) -> None:
        """
        When a worker dies, its jobs are checked on the calling thread: no result is lost
        or made up.
        """
        mapper = self.mapper(workers=1)
        self.assertEqual(mapper(check_witness, JOBS[:2]), [True, True])
        process = mapper._pool[0].process
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        self.assertEqual(mapper(check_witness, MIXED), serial_map(check_witness, MIXED))

    def test_shutdown_stops_the_workers(self) -> None:
        """
        After C{shutdown} the workers have exited, requests not started on dropped.
        """
        mapper = self.mapper()
        mapper.prefetch(JOBS * 5)
        processes = [worker.process for worker in mapper._pool]
        mapper.shutdown()
        self.assertEqual([p.poll() for p in processes], [0, 0])
        self.assertEqual(mapper._prefetched, {})


class BudgetTests(SynchronousTestCase):
    def test_budget_goes_to_the_workers(self) -> None:
        """
        A job's GAS budget travels with it: a validly signed 1-of-101 multisig fails
        with 10 free GAS and verifies with 50, in a worker as on this thread.
        """
        witness = wide_witness(b"message", 101)
        job = WitnessJob(b"message", witness.invocation_script, witness.verification_script,
                         script_hash(witness.verification_script))
        jobs = [job, attrs.evolve(job, free_gas=FREE_VERIFICATION_GAS_2_12)]
        mapper = ProcessMapper(1, min_jobs=1)
        self.addCleanup(mapper.shutdown)
        parts = mapper.submit(jobs)
        assert parts is not None
        self.assertEqual([ok for _, future in parts for ok in future.result(timeout=30)],
                         [False, True])
        self.assertEqual(serial_map(check_witness, jobs), [False, True])

    def test_header_over_budget_refused(self) -> None:
        """
        A header signed by a NextConsensus multisig wider than 10 GAS pays for does not
        verify (no validator set is that wide; its witness is refused unchecked).
        """
        previous = genesis_block(SETTINGS.standby_validators).header
        verification, _ = wide_multisig(101)
        header = attrs.evolve(BLOCKS[0].header, witness=wide_witness(
            BLOCKS[0].header.unsigned_bytes(), 101))
        job = witness_job(header, attrs.evolve(previous,
                                               next_consensus=script_hash(verification)))
        self.assertFalse(check_witness(job))
        self.assertTrue(check_witness(attrs.evolve(job, free_gas=FREE_VERIFICATION_GAS_2_12)))


class ServeTests(SynchronousTestCase):
    def test_requests_and_end(self) -> None:
        """
        Each pickled request gets the pickled results; the end of the requests ends it.
        """
        requests = io.BytesIO()
        tuples = [(j.message, j.invocation, j.verification, j.expected_hash, j.free_gas)
                  for j in MIXED]
        pickle.dump(tuples[:3], requests)
        pickle.dump(tuples[3:8], requests)
        requests.seek(0)
        replies = io.BytesIO()
        original = signal.getsignal(signal.SIGINT)
        self.addCleanup(signal.signal, signal.SIGINT, original)
        serve(requests, replies)
        replies.seek(0)
        expected = serial_map(check_witness, MIXED[:8])
        self.assertEqual([pickle.load(replies), pickle.load(replies)],
                         [expected[:3], expected[3:8]])


class CheckedAheadImportTests(SynchronousTestCase):
    def test_ledger_with_process_mapper(self) -> None:
        """
        A ledger whose witnesses are checked in workers, ahead or not, accepts the chain
        and rejects a block with a spoiled witness, with everything after it.
        """
        mapper = ProcessMapper(2, min_jobs=1)
        self.addCleanup(mapper.shutdown)
        ledger = Ledger.open(self.mktemp(), SETTINGS, mapper)
        self.addCleanup(ledger.close)
        mapper.prefetch(JOBS[:20])
        results = ledger.add_blocks(BLOCKS[:20])
        self.assertEqual({r.verdict for r in results}, {Verdict.ACCEPTED})
        header = BLOCKS[25].header
        bad_witness = attrs.evolve(header.witness, invocation_script=spoiled(
            JOBS[25]).invocation)
        bad = Block(attrs.evolve(header, witness=bad_witness), BLOCKS[25].transactions)
        rest = [*BLOCKS[20:25], bad, *BLOCKS[26:]]
        mapper.prefetch(jobs_of(BLOCKS)[20:])
        results = ledger.add_blocks(rest)
        self.assertEqual([r.verdict for r in results[:5]], [Verdict.ACCEPTED] * 5)
        self.assertEqual({r.verdict for r in results[5:]}, {Verdict.INVALID})
        self.assertEqual(ledger.block_height, 25)


class PipelinedImportTests(SynchronousTestCase):
    """
    C{neonode import} over several batches, each checked ahead in worker processes.
    """

    def setUp(self) -> None:
        self.patch(cli_chain, "IMPORT_BATCH", 25)
        self.patch(verify_module, "MIN_PROCESS_JOBS", 1)
        self.files = Path(self.mktemp())
        self.files.mkdir()
        self.chain = self.files / "chain.acc"
        write_chain_file(self.chain, [genesis_block(SETTINGS.standby_validators), *BLOCKS])

    def import_(self, datadir: Path, chain: Path) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        status = main(["import", "--config", str(ROOT / "protocol.json"), "--datadir",
                       str(datadir), str(chain)], stdin=io.StringIO(), stdout=out, stderr=err)
        return status, out.getvalue(), err.getvalue()

    def reference(self) -> Path:
        """
        A store given every block in one call, checked on this thread.
        """
        datadir = Path(self.mktemp())
        ledger = Ledger.open(datadir, SETTINGS)
        try:
            self.assertEqual({r.verdict for r in ledger.add_blocks(BLOCKS)}, {Verdict.ACCEPTED})
        finally:
            ledger.close()
        return datadir

    def test_same_store(self) -> None:
        """
        The import leaves exactly the store that adding the blocks in one go leaves.
        """
        datadir = Path(self.mktemp())
        status, out, err = self.import_(datadir, self.chain)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(json.loads(out)["imported"], len(BLOCKS))
        self.assertEqual(store_differences(dump_store(datadir), dump_store(self.reference())),
                         [])

    def test_spoiled_witness_in_a_later_batch(self) -> None:
        """
        A block whose witness does not verify stops the import there; the batches before
        it are kept, and importing a good file afterwards completes the same store.
        """
        bad_at = 33
        spoiled_file = self.files / "spoiled" / "chain.acc"
        spoiled_file.parent.mkdir()
        header = BLOCKS[bad_at - 1].header
        witness = attrs.evolve(header.witness,
                               invocation_script=spoiled(JOBS[bad_at - 1]).invocation)
        blocks = list(BLOCKS)
        blocks[bad_at - 1] = Block(attrs.evolve(header, witness=witness),
                                   BLOCKS[bad_at - 1].transactions)
        write_chain_file(spoiled_file, [genesis_block(SETTINGS.standby_validators), *blocks])
        datadir = Path(self.mktemp())
        status, _, err = self.import_(datadir, spoiled_file)
        self.assertEqual(status, 1)
        self.assertIn(f"block {bad_at} rejected: witness does not verify", err)
        store = dump_store(datadir)
        self.assertEqual(store_heights(store), (bad_at - 1, bad_at - 1))
        self.assertEqual(self.import_(datadir, self.chain)[0], 0)
        self.assertEqual(store_differences(dump_store(datadir), dump_store(self.reference())),
                         [])

    def test_damaged_record(self) -> None:
        """
        A file cut inside a record: every block before it is imported, then the error.
        """
        cut_at = 30
        _, records = read_chain_records(self.chain)
        [record] = [r for r in records if r.height == cut_at]
        cut = self.files / "cut" / "chain.acc"
        cut.parent.mkdir()
        cut.write_bytes(self.chain.read_bytes()[:record.offset + 10])
        datadir = Path(self.mktemp())
        status, _, err = self.import_(datadir, cut)
        self.assertEqual(status, 1)
        self.assertIn(f"record {cut_at}", err)
        self.assertEqual(store_heights(dump_store(datadir)), (cut_at - 1, cut_at - 1))
