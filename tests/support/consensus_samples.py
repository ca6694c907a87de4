"""
Consensus payloads signed by the privnet's development validators, for tests.
"""

from __future__ import annotations

from neo_twisted.core.components import Witness
from neo_twisted.core.consensus import ChangeView, ConsensusMessage, ConsensusPayload
from neo_twisted.crypto.scripts import push_data
from neo_twisted.wire.uint import UInt256
from tests.support.ledger_samples import DEV_KEYS, PRIVNET_GENESIS


def signed_payload(validator: int, message: ConsensusMessage | None = None, *,
                   block_index: int = 1, prev_hash: UInt256 | None = None,
                   timestamp: int = 1_700_000_000, signer: int | None = None) -> ConsensusPayload:
    """
    A payload of validator C{validator} (an index into the sorted L{DEV_KEYS}), signed by
    C{signer} (by default the same validator).
    """
    if message is None:
        message = ChangeView(view_number=0, new_view_number=1)
    payload = ConsensusPayload(prev_hash=prev_hash or PRIVNET_GENESIS.hash,
                               block_index=block_index, validator_index=validator,
                               timestamp=timestamp, data=message.to_bytes())
    key = DEV_KEYS[validator if signer is None else signer]
    witness = Witness(invocation_script=push_data(key.sign(payload.unsigned_bytes())),
                      verification_script=DEV_KEYS[validator].verification_script)
    return ConsensusPayload(prev_hash=payload.prev_hash, block_index=block_index,
                            validator_index=validator, timestamp=timestamp,
                            data=payload.data, witness=witness)
