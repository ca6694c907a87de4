"""
crypto.json: every value the shared NEO 2 crypto vectors state (keys, WIF, NEP-2,
addresses, digests, ECDSA, merkle roots, multisig) is what the package computes, and
everything they call invalid is rejected.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping

from neo_twisted.core import Transaction, merkle_root
from neo_twisted.crypto.base58 import b58check_decode
from neo_twisted.crypto.ecdsa import load_public_key, verify_signature
from neo_twisted.crypto.hashes import hash160, hash256, sha256
from neo_twisted.crypto.keys import (
    KeyPair,
    address_from_script_hash,
    nep2_decrypt,
    nep2_encrypt,
    script_hash_from_address,
)
from neo_twisted.crypto.scripts import (
    consensus_address,
    multisig_redeem_script,
    parse_multisig_contract,
    script_hash,
)
from neo_twisted.wire import ECPoint, UInt160, UInt256
from tests.support.vector_checks import (
    BLOCKS,
    CRYPTO,
    KindCheck,
    VectorCheck,
    VectorTestCase,
    decoded,
)
from tests.support.vectors import Vector


def _check_keypair(check: VectorCheck, record: Vector) -> None:
    e = check.expect
    private = bytes.fromhex(check.stated("private_key"))
    pair = KeyPair(private)
    if "public_key_compressed" in e:
        check.equal("public_key_compressed", pair.public_key.encode().hex())
    if "address" in e:
        check.equal("address", pair.address())
        check.equal("address", script_hash_from_address(e["address"]), pair.script_hash,
                    " (decoded)")
    if "wif" in e:
        check.equal("wif", pair.to_wif())
        check.equal("wif", KeyPair.from_wif(e["wif"]).private_key, private, " (imported)")
    if "verification_script" in e:
        check.equal("verification_script", pair.verification_script.hex())
    if "script_hash" in e:
        check.equal("script_hash", pair.script_hash.hex())  # wire order, as the note says
    if "nep2" in e:
        passphrase = check.stated("nep2_passphrase")
        check.equal("nep2", nep2_encrypt(pair, passphrase))
        check.equal("nep2", nep2_decrypt(e["nep2"], passphrase).private_key, private,
                    " (decrypted)")
        if "nep2_passphrase_utf8_hex" in e:
            check.equal("nep2_passphrase_utf8_hex",
                        unicodedata.normalize("NFC", passphrase).encode("utf-8").hex())


def _check_invalid_key(check: VectorCheck, record: Vector) -> None:
    e = check.expect
    check.equal("invalid", True)
    check.raises("Address", ValueError, script_hash_from_address, e["Address"])
    check.raises("PrivateKey", ValueError, lambda text: KeyPair(bytes.fromhex(text)),
                 e["PrivateKey"])
    check.raises("PublicKey", ValueError, lambda text: ECPoint.from_bytes(bytes.fromhex(text)),
                 e["PublicKey"])
    check.raises("Wif", ValueError, KeyPair.from_wif, e["Wif"])
    check.raises("Passphrase", ValueError, nep2_decrypt, check.stated("EncryptedWif"),
                 e["Passphrase"])


def _check_wif(check: VectorCheck, record: Vector) -> None:
    wif = check.stated("wif")
    payload = b58check_decode(wif)
    compressed = len(payload) == 34 and payload[33] == 1
    check.equal("compressed", compressed)
    check.equal("private_key", payload[1:33].hex())
    # neo-go's version 0x00 means "the default", 0x80.
    check.equal("version", payload[0], int(check.stated("version"), 16) or 0x80)
    if compressed:
        check.equal("wif", KeyPair(payload[1:33]).to_wif())
    else:
        # Only compressed-key WIFs are imported: every NEO 2 key is used compressed.
        check.raises("wif", ValueError, KeyPair.from_wif, wif)


def _check_address_scripthash(check: VectorCheck, record: Vector) -> None:
    address = check.stated("address")
    h = script_hash_from_address(address)
    check.equal("neo_go_String_BE", h.hex())  # neo-go String(): wire order
    check.equal("neo_go_StringLE", str(h)[2:])  # StringLE(): reversed
    check.equal("address", address_from_script_hash(h))


def _check_address_bad_version(check: VectorCheck, record: Vector) -> None:
    address = check.stated("address")
    check.equal("must_reject", True)
    check.raises("address", ValueError, script_hash_from_address, address)
    # Rejected for its version alone: with version 0x18 the same string is accepted.
    check.equal("address", address_from_script_hash(script_hash_from_address(address, 0x18),
                                                    0x18), detail=" (as version 0x18)")


def _check_address_roundtrip(check: VectorCheck, record: Vector) -> None:
    address = check.stated("address")
    check.equal("roundtrip", address_from_script_hash(script_hash_from_address(address))
                == address)


def _check_hash160(check: VectorCheck, record: Vector) -> None:
    check.equal("hash160", hash160(bytes.fromhex(check.stated("input_hex"))).hex())


def _check_sha256(check: VectorCheck, record: Vector) -> None:
    data = check.stated("input_ascii").encode("ascii")
    check.equal("sha256", sha256(data).hex())
    # Plain RIPEMD-160, which Hash160 runs over SHA-256: the package takes it from hashlib,
    # whose OpenSSL may lack it; this checks the primitive Hash160 relies on.
    check.equal("ripemd160", hashlib.new("ripemd160", data).hexdigest())
    check.equal("ripemd160", hash160(data),
                hashlib.new("ripemd160", sha256(data)).digest(), " (inside hash160)")


def _check_ecdsa_signature(check: VectorCheck, record: Vector) -> None:
    pair = KeyPair(bytes.fromhex(check.stated("private_key")))
    message = check.stated("message_ascii").encode("ascii")
    signature = bytes.fromhex(check.stated("signature_r_s"))
    check.equal("public_Ux", f"{pair.public_key.x:064x}")
    check.equal("public_Uy", f"{pair.public_key.y:064x}")
    key = load_public_key(pair.public_key.encode())
    assert key is not None
    check.true("signature_r_s", verify_signature(key, message, signature),
               "does not verify over SHA-256 of the message")
    check.true("signature_r_s", not verify_signature(key, message + b".", signature),
               "verifies over another message")
    # RFC 6979 (deterministic k), which the package signs with, gives exactly these bytes.
    check.equal("signature_r_s", pair.sign(message).hex(), detail=" (RFC 6979 signature)")


def _check_keypair_96byte(check: VectorCheck, record: Vector) -> None:
    raw = bytes.fromhex(check.stated("key_96_bytes_hex"))
    pair = KeyPair(raw[64:])  # X || Y || d
    point = pair.public_key
    check.equal("key_96_bytes_hex", (point.x, point.y),
                (int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big")), " (X, Y)")
    check.equal("public_key_compressed", point.encode().hex())


def _check_address_version(check: VectorCheck, record: Vector) -> None:
    version = check.stated("address_version")
    h = UInt160(bytes.fromhex(check.stated("script_hash")))
    check.equal("address", address_from_script_hash(h, version))
    check.equal("script_hash", script_hash_from_address(check.expect["address"], version).hex())
    check.raises("address", ValueError, script_hash_from_address, check.expect["address"])


def _check_double_sha256(check: VectorCheck, record: Vector) -> None:
    check.equal("sha256d", hash256(check.stated("input_ascii").encode("ascii")).hex())


def _check_sign_verify(check: VectorCheck, record: Vector) -> None:
    e = check.expect
    if "wif" in e:
        pair = KeyPair.from_wif(check.stated("wif"))
    else:
        pair = KeyPair(bytes.fromhex(check.stated("private_key")))
    encoded = bytes.fromhex(check.stated("public_key"))
    check.equal("public_key", pair.public_key, ECPoint.from_bytes(encoded))
    message = b"NEO 2 conformance vector"
    key = load_public_key(encoded)  # the stated encoding, compressed or not
    check.true("public_key", key is not None, "is not a valid P-256 point")
    if key is not None:
        check.true("public_key", verify_signature(key, message, pair.sign(message)),
                   "does not verify a signature of its private key")


def _check_merkle_root(check: VectorCheck, record: Vector) -> None:
    hashes = [UInt256.from_string(h) for h in check.stated("tx_hashes")]
    check.equal("merkle_root", str(merkle_root(hashes)))


def _check_consensus_address(check: VectorCheck, record: Vector) -> None:
    keys = [ECPoint.from_bytes(bytes.fromhex(k)) for k in check.stated("validators")]
    h = consensus_address(keys)
    check.equal("script_hash_neo_go_String", h.hex())  # neo-go String(): wire order
    check.equal("address", address_from_script_hash(h))


def _genesis_issue_output(network: str) -> UInt160 | None:
    """
    The script hash the genesis block of C{network} in blocks.json issues NEO to.
    """
    for item in decoded(BLOCKS):
        if item.value is not None and item.record["network"] == network and \
                item.value.index == 0 and "hex_origin" in item.record:
            issue: Transaction = item.value.transactions[-1]
            return issue.outputs[0].script_hash
    return None


def _check_genesis_issue_script(check: VectorCheck, record: Vector) -> None:
    script = bytes.fromhex(check.stated("script"))
    parsed = parse_multisig_contract(script)
    check.true("script", parsed is not None, "is not a standard multisig contract")
    if parsed is None:
        return
    m, keys = parsed
    points = [ECPoint.from_bytes(k) for k in keys]
    check.equal("script", (m, len(keys)), (4, 7), " (m, n)")
    # Rebuilt from the keys in reverse order: the builder sorts them as the node does.
    check.equal("script", multisig_redeem_script(len(points) // 2 + 1, points[::-1]), script,
                " (rebuilt)")
    check.equal("script", script_hash(script), _genesis_issue_output(record["network"]),
                " (hash160 vs the genesis IssueTransaction output)")


_CRYPTO_CHECKS: Mapping[str, KindCheck] = {
    "keypair": _check_keypair,
    "invalid_key": _check_invalid_key,
    "wif": _check_wif,
    "address_scripthash": _check_address_scripthash,
    "address_bad_version": _check_address_bad_version,
    "address_roundtrip": _check_address_roundtrip,
    "hash160": _check_hash160,
    "sha256": _check_sha256,
    "ecdsa_p256_signature": _check_ecdsa_signature,
    "keypair_96byte": _check_keypair_96byte,
    "address_version": _check_address_version,
    "double_sha256": _check_double_sha256,
    "keypair_sign_verify": _check_sign_verify,
    "merkle_root": _check_merkle_root,
    "multisig_consensus_address": _check_consensus_address,
    "multisig_genesis_issue_script": _check_genesis_issue_script,
}


class CryptoVectorTests(VectorTestCase):
    """
    crypto.json: keys, WIF, NEP-2, addresses, digests, ECDSA, merkle roots and multisig.
    """

    def test_vector_set_is_complete(self) -> None:
        """
        The file holds the README's 31 vectors.
        """
        self.assert_vector_count(CRYPTO)

    def test_stated_values(self) -> None:
        """
        Every value each record states is what the package computes from the record's inputs;
        everything a record calls invalid is rejected.
        """
        self.assert_stated_by_kind(CRYPTO, _CRYPTO_CHECKS)
