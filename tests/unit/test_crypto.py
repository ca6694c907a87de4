"""
Tests for L{neo_twisted.crypto}: digests, Base58, keys, standard scripts and witness checks.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.crypto import base58, ecdsa, hashes, keys, scripts
from neo_twisted.crypto.witness import pushed_items, verify_witness
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.uint import UInt160
from tests.support.samples import MAINNET_VALIDATORS

#: The community privnet validators (public development keys, see privnet.md).
PRIVNET = [
    ("02b3622bf4017bdfe317c58aed5f4c753f206b7db896046fa7d774bbc4bf7f8dc2",
     "KxyjQ8eUa4FHt3Gvioyt1Wz29cTUrE4eTqX3yFSk1YFCsPL8uNsY"),
    ("02103a7f7dd016558597f7960d27c516a4394fd968b9e65155eb4b013e4040406e",
     "KzfPUYDC9n2yf4fK5ro4C8KMcdeXtFuEnStycbZgX3GomiUsvX6W"),
    ("03d90c07df63e690ce77912e10ab51acc944b66860237b608c4f8f8309e71ee699",
     "L2oEXKRAAMiPEZukwR5ho2S6SMeQLhcK9mF71ZnF7GvT8dU4Kkgz"),
    ("02a7bc55fe8684e0119768d104ba30795bdcc86619e864add26156723ed185cd62",
     "KzgWE3u3EDp13XPXXuTKZxeJ3Gi8Bsm8f9ijY3ZsCKKRvZUo1Cdn"),
]

TESTNET_VALIDATORS = [
    "0327da12b5c40200e9f65569476bbff2218da4f32548ff43b6387ec1416a231ee8",
    "026ce35b29147ad09e4afe4ec4a7319095f08198fa8babbe3c56e970b143528d22",
    "0209e7fd41dfb5c2f8dc72eb30358ac100ea8c72da18847befe06eade68cebfcb9",
    "039dafd8571a641058ccc832c5e2111ea39b09c0bde36050914384f7a48bce9bf9",
    "038dddc06ce687677a53d54f096d2591ba2302068cf123c1f2d75c2dddc5425579",
    "02d02b1873a0863cd042cc717da31cea0d7cf9db32b74d4c72c01b0011503e2e22",
    "034ff5ceeac41acf22cd5ed2da17a6df4dd8358fcb2bfb1a43208ad0feaab2746b",
]


def points(encoded: list[str]) -> list[ECPoint]:
    return [ECPoint.from_bytes(bytes.fromhex(e)) for e in encoded]


def privnet_pairs() -> list[keys.KeyPair]:
    return [keys.KeyPair.from_wif(wif) for _, wif in PRIVNET]


class HashTests(SynchronousTestCase):
    def test_known_digests(self) -> None:
        """
        The digests of the empty string match their published values.
        """
        self.assertEqual(hashes.sha256(b"").hex(),
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        self.assertEqual(hashes.hash256(b"").hex(),
                         "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456")
        self.assertEqual(hashes.hash160(b"").hex(), "b472a266d0bd89c13706a4132ccfb16f7c3b9fcb")

    def test_checksum_of_empty_payload(self) -> None:
        """
        The frame checksum of an empty payload is 5df6e0e2, as in every verack.
        """
        self.assertEqual(hashes.checksum(b"").hex(), "5df6e0e2")


class Base58Tests(SynchronousTestCase):
    def test_round_trip_keeps_leading_zeros(self) -> None:
        """
        Leading zero bytes survive as leading '1' characters.
        """
        data = b"\x00\x00\x01\x02\xff"
        text = base58.b58encode(data)
        self.assertTrue(text.startswith("11"))
        self.assertEqual(base58.b58decode(text), data)

    def test_invalid_character(self) -> None:
        """
        A character outside the alphabet (0, O, I, l) is a ValueError.
        """
        self.assertRaises(ValueError, base58.b58decode, "1O")

    def test_checksum_mismatch(self) -> None:
        """
        Base58Check rejects a string whose last character was changed.
        """
        good = base58.b58check_encode(b"\x17" + bytes(20))
        bad = good[:-1] + ("2" if good[-1] != "2" else "3")
        self.assertEqual(base58.b58check_decode(good), b"\x17" + bytes(20))
        self.assertRaises(ValueError, base58.b58check_decode, bad)


class KeyTests(SynchronousTestCase):
    def test_privnet_wif_gives_published_public_keys(self) -> None:
        """
        Each privnet development WIF imports to the public key the privnet table lists.
        """
        for (public, wif), pair in zip(PRIVNET, privnet_pairs(), strict=True):
            self.assertEqual(pair.public_key.encode().hex(), public)
            self.assertEqual(pair.to_wif(), wif)

    def test_address_of_mainnet_standby_key(self) -> None:
        """
        The first mainnet standby key's single-sig contract has the documented hash and address.
        """
        key = points(MAINNET_VALIDATORS[:1])[0]
        script = scripts.signature_redeem_script(key)
        self.assertEqual(script.hex(), "21" + MAINNET_VALIDATORS[0] + "ac")
        hash_ = scripts.script_hash(script)
        self.assertEqual(str(hash_), "0xbd8bf7f95e33415fc242c48d143694a729172d9f")
        self.assertEqual(keys.address_from_script_hash(hash_), "AWHX6wX5mEJ4Vwg7uBcqESeq3NggtNFhzD")
        self.assertEqual(keys.script_hash_from_address("AWHX6wX5mEJ4Vwg7uBcqESeq3NggtNFhzD"),
                         hash_)

    def test_bad_addresses(self) -> None:
        """
        Addresses with another version byte, another length or a bad checksum are rejected.
        """
        other_version = base58.b58check_encode(b"\x18" + bytes(20))
        too_short = base58.b58check_encode(b"\x17" + bytes(19))
        self.assertRaises(ValueError, keys.script_hash_from_address, other_version)
        self.assertRaises(ValueError, keys.script_hash_from_address, too_short)
        self.assertRaises(ValueError, keys.script_hash_from_address,
                          "AWHX6wX5mEJ4Vwg7uBcqESeq3NggtNFhzE")

    def test_bad_private_keys(self) -> None:
        """
        A private key of the wrong size, or zero, or a WIF of an uncompressed key, is rejected.
        """
        self.assertRaises(ValueError, keys.KeyPair, bytes(31))
        self.assertRaises(ValueError, keys.KeyPair, bytes(32))
        uncompressed = base58.b58check_encode(b"\x80" + b"\x01" * 32)
        self.assertRaises(ValueError, keys.KeyPair.from_wif, uncompressed)

    def test_nep2_round_trip(self) -> None:
        """
        A NEP-2 string decrypts to the same key with the right passphrase, and not with a wrong one.
        """
        pair = privnet_pairs()[0]
        encrypted = keys.nep2_encrypt(pair, "correct horse")
        self.assertTrue(encrypted.startswith("6P"))
        self.assertEqual(keys.nep2_decrypt(encrypted, "correct horse"), pair)
        self.assertRaises(ValueError, keys.nep2_decrypt, encrypted, "wrong horse")


class ScriptTests(SynchronousTestCase):
    def test_push_int(self) -> None:
        """
        Integers are pushed as the VM's ScriptBuilder pushes them.
        """
        cases = {-1: "4f", 0: "00", 1: "51", 16: "60", 17: "0111", 127: "017f",
                 128: "028000", 1024: "020004", -128: "0180", -129: "027fff",
                 -32768: "020080"}
        for value, encoded in cases.items():
            self.assertEqual(scripts.push_int(value).hex(), encoded, value)

    def test_push_data_boundaries(self) -> None:
        """
        Data pushes switch from a length byte to PUSHDATA1, 2 and 4 at 76, 256 and 65536 bytes.
        """
        self.assertEqual(scripts.push_data(bytes(75))[:1], b"\x4b")
        self.assertEqual(scripts.push_data(bytes(76))[:2], b"\x4c\x4c")
        self.assertEqual(scripts.push_data(bytes(256))[:3], b"\x4d\x00\x01")
        self.assertEqual(scripts.push_data(bytes(65536))[:5], b"\x4e\x00\x00\x01\x00")

    def test_mainnet_consensus_address(self) -> None:
        """
        The mainnet 5-of-7 and 4-of-7 contracts sort keys by X and hash to the genesis values.
        """
        validators = points(MAINNET_VALIDATORS)
        script = scripts.multisig_redeem_script(5, validators)
        self.assertTrue(script.hex().startswith("5521" + MAINNET_VALIDATORS[6]))
        # 03b209... sorts before 02ca0e...: the prefix byte does not count.
        order = [script[2 + 34 * i: 35 + 34 * i].hex() for i in range(7)]
        self.assertLess(order.index(MAINNET_VALIDATORS[0]), order.index(MAINNET_VALIDATORS[3]))
        self.assertEqual(script[-2:], b"\x57\xae")
        self.assertEqual(keys.address_from_script_hash(scripts.consensus_address(validators)),
                         "APyEx5f4Zm4oCHwFWiSTaph1fPBxZacYVR")
        holder = scripts.script_hash(scripts.multisig_redeem_script(4, validators))
        self.assertEqual(keys.address_from_script_hash(holder),
                         "AQVh2pG732YvtNaxEGkQUei3YA4cvo7d2i")

    def test_testnet_consensus_address(self) -> None:
        """
        The testnet validators give the testnet genesis NextConsensus.
        """
        hash_ = scripts.consensus_address(points(TESTNET_VALIDATORS))
        self.assertEqual(str(hash_), "0x257b026aecfe8e9878a2219a08b0f382b92d81f3")

    def test_bft_threshold(self) -> None:
        """
        M = N - (N-1)/3: 1 of 1, 3 of 4, 5 of 7.
        """
        self.assertEqual([scripts.bft_threshold(n) for n in (1, 4, 7)], [1, 3, 5])

    def test_invalid_multisig(self) -> None:
        """
        m of n needs 1 <= m <= n.
        """
        validators = points(MAINNET_VALIDATORS)
        self.assertRaises(ValueError, scripts.multisig_redeem_script, 0, validators)
        self.assertRaises(ValueError, scripts.multisig_redeem_script, 8, validators)

    def test_parse_multisig_contract(self) -> None:
        """
        A standard multisig script parses back to m and its keys; a damaged one does not.
        """
        validators = points(TESTNET_VALIDATORS)
        script = scripts.multisig_redeem_script(5, validators)
        parsed = scripts.parse_multisig_contract(script)
        assert parsed is not None
        self.assertEqual(parsed[0], 5)
        self.assertEqual(sorted(parsed[1]), sorted(p.encode() for p in validators))
        self.assertIsNone(scripts.parse_multisig_contract(script[:-1]))
        self.assertIsNone(scripts.parse_multisig_contract(script[:-2] + b"\x56\xae"))
        self.assertIsNone(scripts.parse_multisig_contract(b"\x51"))
        self.assertIsNone(scripts.parse_multisig_contract(b""))

    def test_signature_contract_shape(self) -> None:
        """
        Only C{21 <33 bytes> AC} is a signature contract.
        """
        key = points(MAINNET_VALIDATORS[:1])[0]
        script = scripts.signature_redeem_script(key)
        self.assertTrue(scripts.is_signature_contract(script))
        self.assertFalse(scripts.is_signature_contract(script[:-1] + b"\xad"))
        self.assertFalse(scripts.is_signature_contract(script + b"\x00"))


class SignatureTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.pair = privnet_pairs()[0]
        public = ecdsa.load_public_key(self.pair.public_key.encode())
        assert public is not None
        self.public = public

    def test_sign_and_verify(self) -> None:
        """
        A signature is 64 bytes, deterministic, and verifies only for its message.
        """
        signature = self.pair.sign(b"message")
        self.assertEqual(len(signature), 64)
        self.assertEqual(signature, self.pair.sign(b"message"))
        self.assertTrue(ecdsa.verify_signature(self.public, b"message", signature))
        self.assertFalse(ecdsa.verify_signature(self.public, b"other", signature))

    def test_malformed_signatures(self) -> None:
        """
        Wrong lengths and r or s out of range are rejected, not raised.
        """
        signature = self.pair.sign(b"m")
        self.assertFalse(ecdsa.verify_signature(self.public, b"m", signature[:63]))
        self.assertFalse(ecdsa.verify_signature(self.public, b"m", bytes(32) + signature[32:]))
        self.assertFalse(ecdsa.verify_signature(self.public, b"m", signature[:32] + b"\xff" * 32))

    def test_load_public_key_forms(self) -> None:
        """
        Keys load from 33, 65 or 64 bytes; other lengths and off-curve points give None.
        """
        point = self.pair.public_key
        assert point.x is not None and point.y is not None
        raw = point.x.to_bytes(32, "big") + point.y.to_bytes(32, "big")
        self.assertIsNotNone(ecdsa.load_public_key(b"\x04" + raw))
        self.assertIsNotNone(ecdsa.load_public_key(raw))
        self.assertIsNone(ecdsa.load_public_key(raw[:40]))
        self.assertIsNone(ecdsa.load_public_key(b"\x04" + raw[:63] + bytes([raw[63] ^ 1])))


class WitnessTests(SynchronousTestCase):
    message = b"unsigned bytes of some container"

    def setUp(self) -> None:
        self.pairs = privnet_pairs()
        self.multisig = scripts.multisig_redeem_script(3, [p.public_key for p in self.pairs])
        self.multisig_hash = scripts.script_hash(self.multisig)
        # Signers in the order their keys appear in the script.
        order = scripts.parse_multisig_contract(self.multisig)
        assert order is not None
        self.ordered = sorted(self.pairs, key=lambda p: order[1].index(p.public_key.encode()))

    def sigs(self, signers: list[keys.KeyPair]) -> bytes:
        return b"".join(b"\x40" + p.sign(self.message) for p in signers)

    def test_single_signature(self) -> None:
        """
        A single-sig witness verifies for its own script hash and message only.
        """
        pair = self.pairs[0]
        invocation = self.sigs([pair])
        self.assertTrue(verify_witness(self.message, invocation, pair.verification_script,
                                       pair.script_hash))
        self.assertFalse(verify_witness(b"other", invocation, pair.verification_script,
                                        pair.script_hash))
        self.assertFalse(verify_witness(self.message, invocation, pair.verification_script,
                                        self.pairs[1].script_hash))

    def test_single_signature_needs_exactly_one_item(self) -> None:
        """
        An extra push leaves two items on the stack, which fails verification.
        """
        pair = self.pairs[0]
        invocation = self.sigs([pair]) + b"\x51"
        self.assertFalse(verify_witness(self.message, invocation, pair.verification_script,
                                        pair.script_hash))

    def test_invocation_must_only_push(self) -> None:
        """
        Any opcode other than a push in the invocation script makes the witness unverifiable.
        """
        pair = self.pairs[0]
        invocation = self.sigs([pair]) + b"\x61"  # NOP
        self.assertFalse(verify_witness(self.message, invocation, pair.verification_script,
                                        pair.script_hash))
        self.assertIsNone(pushed_items(b"\x4c"))
        self.assertEqual(pushed_items(b"\x4c\x02ab\x00\x4f\x55"), [b"ab", b"", -1, 5])

    def test_pushdata_signature(self) -> None:
        """
        A signature pushed with PUSHDATA1 counts like one pushed with PUSHBYTES64.
        """
        pair = self.pairs[0]
        invocation = b"\x4c\x40" + pair.sign(self.message)
        self.assertTrue(verify_witness(self.message, invocation, pair.verification_script,
                                       pair.script_hash))

    def test_multisig_in_key_order(self) -> None:
        """
        m signatures in the order of the keys in the script verify, with any key skipped.
        """
        for skipped in range(4):
            signers = [p for i, p in enumerate(self.ordered) if i != skipped]
            self.assertTrue(verify_witness(self.message, self.sigs(signers), self.multisig,
                                           self.multisig_hash), skipped)

    def test_multisig_out_of_order(self) -> None:
        """
        Signatures out of key order fail, as CHECKMULTISIG walks keys forward only.
        """
        signers = list(reversed(self.ordered[:3]))
        self.assertFalse(verify_witness(self.message, self.sigs(signers), self.multisig,
                                        self.multisig_hash))

    def test_multisig_needs_exactly_m(self) -> None:
        """
        Fewer or more than m signatures fail.
        """
        for signers in (self.ordered[:2], self.ordered):
            self.assertFalse(verify_witness(self.message, self.sigs(signers), self.multisig,
                                            self.multisig_hash))

    def test_multisig_with_a_bad_signature(self) -> None:
        """
        One forged signature among m fails the whole witness.
        """
        invocation = self.sigs(self.ordered[:2]) + b"\x40" + bytes(64)
        self.assertFalse(verify_witness(self.message, invocation, self.multisig,
                                        self.multisig_hash))

    def test_empty_or_unknown_verification(self) -> None:
        """
        Deployed-contract witnesses (empty verification) and other scripts are not verified here.
        """
        self.assertFalse(verify_witness(self.message, b"", b"", UInt160()))
        script = b"\x51"
        self.assertFalse(verify_witness(self.message, b"", script, scripts.script_hash(script)))
