"""
The units and keys of the C{GetValidators} vectors (neo2-validators.md section 7.3).
"""

from __future__ import annotations

from neo_twisted.ledger.settings import load_protocol
from neo_twisted.wire.ecpoint import ECPoint
from tests.support.ledger_samples import ROOT

NEO = 100_000_000  # raw Fixed8 units of one NEO
MAINNET = load_protocol(ROOT / "protocol.mainnet.json").standby_validators
TESTNET = load_protocol(ROOT / "protocol.testnet.json").standby_validators


def key(hex_: str) -> ECPoint:
    return ECPoint.from_bytes(bytes.fromhex(hex_))


R1 = key("036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296")
R2 = key("037cf27b188d034f7e8a52380304b51ac3c08969e277f21b35a60b48fc47669978")
R3 = key("025ecbe4d1a6330a44c8f7ef951d4bf165e6c6b721efada985fb41661bc6e7fd6c")
S4 = key("02ca0e27697b9c248f6f16e085fd0061e26f44da85b58ee835c110caa5ec3ba554")
