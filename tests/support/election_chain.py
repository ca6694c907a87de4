"""
A privnet chain generated with an election: a candidate registered and voted in at
L{ELECT_AT}, shared by the generator's tests and C{neonode makechain --elect}'s.
"""

from __future__ import annotations

import functools
from pathlib import Path

import attrs

from neo_twisted.consensus.keyfile import load_validator_key
from neo_twisted.core import Block
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.ledger.generator import generate_chain, load_dev_keys
from neo_twisted.ledger.generator_votes import ElectionPlan
from neo_twisted.ledger.settings import ProtocolSettings, load_protocol
from neo_twisted.wire.ecpoint import ECPoint

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = ROOT / "protocol.json"
DEV_KEYS = ROOT / "devkeys" / "privnet.json"
CANDIDATE_FILE = ROOT / "devkeys" / "privnet-candidate.wif"
#: The chain with an election: blocks after genesis, transfers per block, seed, vote height.
BLOCKS, K, SEED, ELECT_AT = 200, 5, 7, 150


@functools.cache
def privnet() -> tuple[ProtocolSettings, tuple[KeyPair, ...], KeyPair]:
    settings = load_protocol(PROTOCOL)
    return settings, tuple(load_dev_keys(DEV_KEYS, settings)), load_validator_key(CANDIDATE_FILE)


def plan(height: int = ELECT_AT) -> ElectionPlan:
    return ElectionPlan(privnet()[2], height)


@functools.cache
def election_chain(plus_one: bool = True) -> tuple[Block, ...]:
    settings, keys, _ = privnet()
    settings = attrs.evolve(settings, validator_count_plus_one=plus_one)
    return tuple(generate_chain(settings, keys, BLOCKS, K, SEED, election=plan()))


def five() -> tuple[ECPoint, ...]:
    settings, _, candidate = privnet()
    return tuple(sorted([*settings.standby_validators, candidate.public_key]))
