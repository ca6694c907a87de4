"""
transactions.json: every shared NEO 2 transaction vector decodes, hashes and re-encodes
exactly, every value its source states matches the decoded transaction, and its witnesses
sign it.
"""

from __future__ import annotations

from neo_twisted.core import TransactionType
from neo_twisted.crypto.hashes import hash256
from neo_twisted.wire import UInt256
from tests.support.transaction_facts import check_tx_fact
from tests.support.vector_checks import (
    SKIPPED_KEYS,
    TRANSACTIONS,
    VectorCheck,
    VectorTestCase,
    check_witnesses,
    decoded_ok,
)


class TransactionVectorTests(VectorTestCase):
    """
    transactions.json: all nine transaction types.
    """

    def test_vector_set_is_complete(self) -> None:
        """
        The file holds the README's 43 vectors, and they cover all nine transaction types.
        """
        self.assert_vector_count(TRANSACTIONS)
        found: list[str] = []
        types = {item.value.type_name for item in decoded_ok(TRANSACTIONS, found)}
        self.assert_no_problems(found)
        self.assertEqual(types, {t.name for t in TransactionType})

    def test_stated_values(self) -> None:
        """
        Each record decodes, and every value its source states matches the decoded transaction.
        """
        found: list[str] = []
        for item in decoded_ok(TRANSACTIONS, found):
            check = VectorCheck(item.where, item.record["expect"], found)
            tx = item.value
            for key, stated in item.record["expect"].items():
                if key == "roundtrip":
                    check.equal(key, tx.to_bytes() == item.data)
                else:
                    check_tx_fact(check, key, tx, stated)
            check.finish(SKIPPED_KEYS.get(TRANSACTIONS, {}))
        self.assert_no_problems(found)

    def test_derived_values(self) -> None:
        """
        Type code, version, element counts, size and unsigned length match the derived values.
        """
        found: list[str] = []
        for item in decoded_ok(TRANSACTIONS, found):
            derived = item.record["derived"]
            check = VectorCheck(item.where + " derived", derived, found)
            tx = item.value
            check.equal("type_code", f"0x{tx.TYPE:02x}")
            check.equal("version", tx.version)
            for key in ("attributes", "inputs", "outputs", "witnesses"):
                check.equal(key, len(getattr(tx, key)))
            check.equal("unsigned_len", len(tx.unsigned_bytes()))
            if item.record.get("unsigned_only"):
                # No stated size (null): the record is the unsigned part alone, and the full
                # form is that plus the empty witness array.
                check.equal("size", tx.size, derived["unsigned_len"] + 1, " (with 00 appended)")
                check.equal("unsigned_len", len(bytes.fromhex(item.record["hex"])),
                            detail=" (record length)")
            else:
                check.equal("size", tx.size)
                check.equal("size", len(item.data), derived["size"], " (vector length)")
            check.finish()
        self.assert_no_problems(found)

    def test_reencodes_to_same_bytes(self) -> None:
        """
        Re-encoding gives the input bytes back (all vectors are canonical), the unsigned part
        is the start of them, and the hash of the re-encoded unsigned part is the txid.
        """
        found: list[str] = []
        for item in decoded_ok(TRANSACTIONS, found):
            check = VectorCheck(item.where, {}, found)
            tx = item.value
            unsigned = tx.unsigned_bytes()
            check.equal("to_bytes", tx.to_bytes() == item.data, True)
            check.equal("unsigned_bytes", item.data.startswith(unsigned), True)
            check.equal("hash of unsigned_bytes", str(UInt256(hash256(unsigned))),
                        item.record["expect"]["hash"])
        self.assert_no_problems(found)

    def test_unsigned_only_records(self) -> None:
        """
        A record holding only the unsigned part hashes, as it is, to its stated hash, and is
        exactly what the decoded transaction gives as its unsigned bytes.
        """
        found: list[str] = []
        items = [i for i in decoded_ok(TRANSACTIONS, found) if i.record.get("unsigned_only")]
        self.assertEqual(len(items), 3)
        for item in items:
            check = VectorCheck(item.where, item.record["expect"], found)
            unsigned = bytes.fromhex(item.record["hex"])
            check.equal("hash", str(UInt256(hash256(unsigned))), detail=" (hash of the hex)")
            check.equal("hex", item.value.unsigned_bytes() == unsigned, True)
            check.equal("witnesses", item.value.witnesses, ())
        self.assert_no_problems(found)

    def test_witness_signatures(self) -> None:
        """
        Every standard witness of every transaction signs its unsigned bytes: a strong check
        that the unsigned byte range is right.
        """
        found: list[str] = []
        total = 0
        for item in decoded_ok(TRANSACTIONS, found):
            check = VectorCheck(item.where, {}, found)
            total += check_witnesses(check, "witnesses", item.value.unsigned_bytes(),
                                     item.value.witnesses)
        self.assert_no_problems(found)
        # The others have an empty, non-standard or PUSHT (51) verification script.
        self.assertEqual(total, 28)
