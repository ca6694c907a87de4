"""
Shared pieces of the tests of L{neo_twisted.p2p.protocol.PeerProtocol} that decode
transactions: transactions of a given size, ones that do not decode, and a payload
decoder whose decodings finish when the test says.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from neo_twisted.core.components import TransactionAttribute
from neo_twisted.core.transactions import ContractTransaction
from neo_twisted.network.frame import Frame
from neo_twisted.network.payloads import Payload
from neo_twisted.p2p.decoding import OFF_REACTOR_SIZE, decode_frame


def big_tx(size: int = OFF_REACTOR_SIZE + 1000) -> ContractTransaction:
    """
    A transaction of about C{size} bytes (a remark pads it): one to decode off the reactor.
    """
    return ContractTransaction(attributes=(TransactionAttribute(0xF0, bytes(size)),))


def tx_of_size(size: int) -> ContractTransaction:
    """
    A transaction of exactly C{size} bytes (over 256 and up to about 131,000): two
    remarks pad it.
    """
    def padded(second: int) -> ContractTransaction:
        return ContractTransaction(attributes=(
            TransactionAttribute(0xF0, bytes(min(size // 2, 65_000))),
            TransactionAttribute(0xF1, bytes(second))))

    guess = 300
    tx = padded(guess + size - len(padded(guess).to_bytes()))
    assert len(tx.to_bytes()) == size
    return tx


def truncated_tx(size: int) -> bytes:
    """
    C{size} bytes (up to 340,000) of a transaction that does not decode: it claims
    10,000 inputs (34 bytes each) and is cut short in them.
    """
    head = b"\x80\x00\x00\xfd\x10\x27"
    return head + bytes(size - len(head))


class FakeDecoding:
    """
    A L{neo_twisted.p2p.decoding.PayloadDecoder} whose decodings finish when the test says.
    """

    available = True

    def __init__(self) -> None:
        self.pending: list[tuple[Frame, Deferred[Payload | None]]] = []

    def decode(self, frame: Frame) -> Deferred[Payload | None]:
        result: Deferred[Payload | None] = Deferred()
        self.pending.append((frame, result))
        return result

    def finish(self) -> None:
        """
        Finish the oldest decoding as the threads would: decode_frame's result or error.
        """
        frame, result = self.pending.pop(0)
        try:
            payload = decode_frame(frame)
        except Exception:
            result.errback(Failure())
        else:
            result.callback(payload)
