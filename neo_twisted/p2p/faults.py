# -*- test-case-name: tests.unit.test_p2p_faults -*-
"""
Every fault a peer can commit, and what we do about it: the one table.

Before this table each module punished in its own way, and most punishments
were a 24-hour ban of the whole IP address: four bytes of a wrong magic, a
message an honest peer of another version sends, a transaction that conflicts
with our pool. A ban also caught every honest peer behind the same NAT, and an
attacker could make us ban honest peers (send them a conflicting spend first).

Now a fault has one of four responses, the mildest that protects the node:

 - I{ignore}: the message is dropped and the fault counted; the peer stays.
 - I{disconnect}: the connection is closed; the peer may come back at once (its
   address backs off as after any disconnection).
 - I{discourage}: closed, and for a while its IP is not dialled, is accepted
   inbound only while inbound slots are free, and is evicted first when they
   are not (Bitcoin Core's discouragement).
 - I{ban}: closed and refused for a while. Only the operator bans (C{--ban}, RPC
   C{setban}), or repeated, unambiguous malice: a fault that escalates
   (L{Fault.escalates}) committed L{ESCALATE_AFTER} times by one IP within
   L{ESCALATE_WITHIN} seconds.

Loopback and whitelisted addresses are never discouraged or banned (they are
disconnected like anyone). What honest peers of any 2.x version send is never
a fault at all (see C{docs}: neo2-versions.md, section 6); what cannot be told
apart from an honest peer's mistake or a version difference is at most a
disconnection.
"""

from __future__ import annotations

import enum

__all__ = ["ESCALATE_AFTER", "ESCALATE_WITHIN", "Fault", "Response", "fault_table"]

#: Escalating faults by one IP that turn a discouragement into a ban...
ESCALATE_AFTER = 3
#: ...within this many seconds.
ESCALATE_WITHIN = 24 * 3600.0


class Response(enum.IntEnum):
    """
    What we do to a peer, mildest first.
    """

    IGNORE = 0
    DISCONNECT = 1
    DISCOURAGE = 2
    BAN = 3

    @property
    def label(self) -> str:
        return self.name.lower()


_I, _D, _C = Response.IGNORE, Response.DISCONNECT, Response.DISCOURAGE


class Fault(enum.Enum):
    """
    One kind of fault: its label (for logs and metrics), its response, whether
    repeating it escalates to a ban, and why that response.
    """

    # -- the connection itself --
    WRONG_MAGIC = ("wrong-magic", _D, False,
                   "a frame of another network: a testnet node dialling a mainnet port")
    BAD_FRAME = ("bad-frame", _D, False,
                 "a frame whose header or checksum is wrong: the stream cannot be trusted")
    MALFORMED = ("malformed", _D, False,
                 "a payload of a command we handle that does not decode, as every C# 2.9+ "
                 "node aborts on")
    HANDSHAKE_ORDER = ("handshake-order", _D, False,
                       "a message before version, or before verack")
    HANDSHAKE_AGAIN = ("handshake-again", _D, False,
                       "version or verack after the handshake")
    # -- blocks and headers --
    UNASKED_BLOCK = ("unasked-block", _D, False,
                     "a block nobody asked for that cannot be our next one (decoding it "
                     "would be work a peer could make us do at will)")
    BLOCK_BEYOND = ("block-beyond-window", _D, False,
                    "a block too far above our height to be kept")
    FOREIGN_BLOCK = ("foreign-block", _D, False,
                     "a block other than our verified header at its height: another chain")
    INVALID_BLOCK = ("invalid-block", _D, False,
                     "a block our rules refuse; the reference only refuses it, and a rule "
                     "that differs between versions must not isolate us")
    HEADERS_UNLINKED = ("headers-unlinked", _I, False,
                        "headers that do not extend ours: an answer to an old locator, or a "
                        "fork; refused, as the reference does")
    HEADERS_REFUSED = ("headers-refused", _D, False,
                       "headers that link but that we refuse for a rule (witness too costly, "
                       "not the assume-valid chain): another chain or version")
    BAD_HEADER_WITNESS = ("bad-header-witness", _C, True,
                          "a header whose witness does not verify: no honest node relays one, "
                          "and checking it cost us signature checks")
    BAD_BLOCK_WITNESS = ("bad-block-witness", _C, True,
                         "a block whose header's witness does not verify: no honest node "
                         "relays one, and decoding and checking it cost us far more than it "
                         "cost the sender")
    # -- transactions and consensus --
    INVALID_TX = ("invalid-tx", _I, False,
                  "a transaction that fails verification; the reference never disconnects "
                  "for one (and conflicts, missing parents and policy are not faults at all)")
    INVALID_TX_FLOOD = ("invalid-tx-flood", _D, False,
                        "many invalid transactions within a minute: what they cost us to "
                        "check is not worth the connection")
    UNVERIFIED_CONSENSUS = ("unverified-consensus", _I, False,
                            "a consensus payload we cannot verify (another validator set, "
                            "another height): not relayed, no fault of the relayer")
    # -- everything else --
    UNKNOWN_COMMAND = ("unknown-command", _I, False,
                       "a command we do not handle: newer versions and other nodes send some")

    def __init__(self, label: str, response: Response, escalates: bool, why: str) -> None:
        self.label = label
        self.response = response
        self.escalates = escalates
        self.why = why


def fault_table() -> str:
    """
    The table as Markdown, for the README (a test keeps them the same).
    """
    lines = ["| fault | response | why |", "|---|---|---|"]
    for fault in Fault:
        response = fault.response.label + (" (ban if repeated)" if fault.escalates else "")
        lines.append(f"| `{fault.label}` | {response} | {fault.why} |")
    return "\n".join(lines)
