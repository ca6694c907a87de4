"""
C{GetValidators} (L{neo_twisted.ledger.election}) against the vectors of
neo2-validators.md section 7.3: mainnet's and testnet's genesis NextConsensus, the
count formula with its double truncation, padding with standby keys.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.crypto.keys import address_from_script_hash
from neo_twisted.crypto.scripts import consensus_address
from neo_twisted.ledger.election import (
    Candidate,
    elect,
    enrollments,
    validator_count,
    weighted_average,
    weighted_filter,
)
from tests.support.election_keys import MAINNET, NEO, R1, R2, R3, S4, TESTNET


def counts(**by_candidates: int) -> list[int]:
    """
    A C{ValidatorsCount} record from NEO per number of candidates voted for (c1=..).
    """
    record = [0] * 1024
    for name, neo in by_candidates.items():
        record[int(name[1:]) - 1] = neo * NEO
    return record


class NoVotesTests(SynchronousTestCase):
    def test_mainnet_genesis(self) -> None:
        """
        TV1: no votes: the standby keys, sorted, make mainnet's genesis NextConsensus.
        """
        count = validator_count([0] * 1024, len(MAINNET), plus_one=True)
        validators = elect([], MAINNET, count)
        self.assertEqual([v.encode().hex() for v in validators], [
            "02486fd15702c4490a26703112a5cc1d0923fd697a33406bd5a1c00e0013b09a70",
            "024c7b7fb6c310fccf1ba33b082519d82964ea93868d676662d4a59ad548df0e7d",
            "02aaec38470f6aad0042c6e877cfd8087d2676b0f516fddd362801b9bd3936399e",
            "03b209fd4f53a7170ea4444e0cb0a6bb6a53c2bd016926989cf85f9b0fba17a70c",
            "03b8d9d5771d8f513aa0869b9cc8d50986403b78c6da36890638c3d46a5adce04a",
            "02ca0e27697b9c248f6f16e085fd0061e26f44da85b58ee835c110caa5ec3ba554",
            "02df48f60e8f3e01c48ff40b9b7f1310d7a8b2a193188befe1c2e3df740e895093"])
        address = consensus_address(validators)
        self.assertEqual(str(address), "0x55bfa4cc95efe9bb65c104bf27385d2b655de759")
        self.assertEqual(address_from_script_hash(address), "APyEx5f4Zm4oCHwFWiSTaph1fPBxZacYVR")

    def test_testnet_genesis(self) -> None:
        validators = elect([], TESTNET, validator_count([0] * 1024, len(TESTNET),
                                                        plus_one=False))
        address = consensus_address(validators)
        self.assertEqual(str(address), "0x257b026aecfe8e9878a2219a08b0f382b92d81f3")
        self.assertEqual(address_from_script_hash(address), "AdyQbbn6ENjqWDa5JNYMwN3ikNcA4JeZdk")


class CountTests(SynchronousTestCase):
    """
    TV2: the weighted count, before and after 2.11's formula.
    """

    CASES = [
        (counts(), [], 0, 0),
        (counts(c1=100, c7=300, c10=100), [(6, 25 * 10**9)], 6, 7),
        (counts(c10=1000), [(9, 50 * 10**9)], 9, 10),
        (counts(c8=5), [(7, 250_000_000)], 7, 8),
        (counts(c1=50, c9=50), [(0, 2_500_000_000), (8, 2_500_000_000)], 4, 5),
        (counts(c1=1, c2=1, c3=1), [(0, 24_999_999), (1, 100_000_000), (2, 25_000_000)], 1, 2),
        (counts(c5=10, c12=30, c20=60), [(11, 1_500_000_000), (19, 3_500_000_000)], 16, 17),
    ]

    def test_vectors(self) -> None:
        for record, filtered, before, after in self.CASES:
            items = [(i, w) for i, w in enumerate(record) if w > 0]
            self.assertEqual(weighted_filter(items), filtered)
            self.assertEqual(weighted_average(filtered), before)
            self.assertEqual(validator_count(record, 0, plus_one=False), before)
            self.assertEqual(validator_count(record, 0, plus_one=True), after)
            self.assertEqual(validator_count(record, 7, plus_one=True), max(after, 7))

    def test_double_truncation(self) -> None:
        """
        (1/3 - 0.25) x 3e8 is 24999999.999999996 in doubles: C# truncates it.
        """
        self.assertEqual(weighted_filter([(0, NEO), (1, NEO), (2, NEO)])[0], (0, 24_999_999))

    def test_only_bucket_zero_averages_to_zero(self) -> None:
        self.assertEqual(weighted_average([(0, 5 * NEO)]), 0)
        self.assertEqual(weighted_filter([(1, NEO)], 0.5, 0.5), [])


class SelectionTests(SynchronousTestCase):
    """
    TV3: selection by votes, padding with standby keys in config order.
    """

    CANDIDATES = [Candidate(R1, True, 1000 * NEO), Candidate(R2, True, 500 * NEO),
                  Candidate(R3, False, 700 * NEO), Candidate(S4, False, 2000 * NEO)]

    def test_padding(self) -> None:
        validators = elect(self.CANDIDATES, MAINNET, 7)
        self.assertEqual([v.encode().hex()[:8] for v in validators],
                         ["024c7b7f", "036b17d1", "037cf27b", "03b209fd", "03b8d9d5", "02ca0e27",
                          "02df48f6"])
        address = consensus_address(validators)
        self.assertEqual(str(address), "0x5b34ffd001a94671e97d8905564f50a5154b4038")
        self.assertEqual(address_from_script_hash(address), "ALuJWRAwDMtmEvecepEJ7KDXkRxxwREyMj")

    def test_too_few_keys(self) -> None:
        """
        E6: ten asked, nine keys (three candidates and six unused standby): never invented.
        """
        record = counts(c10=1000)
        for plus_one in (False, True):
            count = validator_count(record, len(MAINNET), plus_one=plus_one)
            self.assertEqual(count, 10 if plus_one else 9)
            validators = elect(self.CANDIDATES, MAINNET, count)
            self.assertEqual(len(validators), 9)
            self.assertEqual(str(consensus_address(validators)),
                             "0xfdf6ca229805ff1729790d96fd10b5c97dc29d13")


class EnrollmentTests(SynchronousTestCase):
    def test_getvalidators_shape(self) -> None:
        """
        Section 8: registered or standby records only, in the compressed keys' byte
        order (R3, unregistered and not standby, is left out), votes as Fixed8 text.
        """
        candidates = SelectionTests.CANDIDATES
        active = elect(candidates, MAINNET, 7)
        listed = enrollments(candidates, MAINNET, active)
        self.assertEqual(listed, [
            {"publickey": S4.encode().hex(), "votes": "2000", "active": True},
            {"publickey": R1.encode().hex(), "votes": "1000", "active": True},
            {"publickey": R2.encode().hex(), "votes": "500", "active": True},
        ])

    def test_fresh_chain(self) -> None:
        """
        No records: an empty list, though the standby keys are the validators.
        """
        self.assertEqual(enrollments([], MAINNET, MAINNET), [])
        unregistered = Candidate(R1, False, 0)
        self.assertEqual(enrollments([unregistered], MAINNET, MAINNET), [])
