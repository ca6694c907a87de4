# -*- test-case-name: tests.unit.test_p2p_disconnects -*-
"""
Why peers were lost, in a few fixed words: the labels of the disconnect counts.

The reasons the node logs are free text (they name heights, hosts, seconds), and
a metric's labels must be a small fixed set, so each reason is filed by the words
it starts with. A fault keeps the fault table's label. The reasons are written
where the connection is closed (the protocol, the syncs, the connection service)
and listed in L{REASONS}; the tests close real connections the ways the protocol
and the connection service do, so that a reworded reason shows up as C{other}
there rather than in production.
"""

from __future__ import annotations

from neo_twisted.p2p.faults import Fault

__all__ = ["BAN", "CLOSED", "EVICTION", "OTHER", "REASONS", "REASON_ENDS", "REFUSED", "SHUTDOWN",
           "SLOW_READER", "TIMEOUT", "disconnect_label"]

#: The peer (or the network) closed the connection.
CLOSED = "closed"
#: Nothing (or not what was asked) came in time: handshake, idle, headers, blocks.
TIMEOUT = "timeout"
#: Closed to make room for a new inbound connection.
EVICTION = "eviction"
#: The node is stopping.
SHUTDOWN = "shutdown"
#: The operator banned its IP.
BAN = "ban"
#: Refused after its version: ourselves, a duplicate, a banned IP, over a limit.
REFUSED = "refused"
#: It did not read what we sent (the send backlog overflowed).
SLOW_READER = "slow-reader"
#: A reason not listed here.
OTHER = "other"

#: The beginnings of the node's reasons, and their labels.
REASONS = (
    ("connection closed", CLOSED),
    ("handshake timed out", TIMEOUT),
    ("no message received for", TIMEOUT),
    ("no headers within", TIMEOUT),
    ("stalled block sync", TIMEOUT),
    ("evicted", EVICTION),
    ("node stopping", SHUTDOWN),
    ("connected to ourselves", REFUSED),
    ("already connected to node", REFUSED),
    ("too many connections", REFUSED),
    ("not reading", SLOW_READER),
)
#: The same for reasons that begin with a host.
REASON_ENDS = (
    ("banned by the operator", BAN),
    (" is banned", REFUSED),
)


def disconnect_label(reason: str, fault: Fault | None) -> str:
    """
    The label a lost connection is counted under: its fault's, else its reason's.
    """
    if fault is not None:
        return fault.label
    for start, label in REASONS:
        if reason.startswith(start):
            return label
    for end, label in REASON_ENDS:
        if reason.endswith(end):
            return label
    return OTHER
