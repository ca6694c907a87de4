# -*- test-case-name: tests.unit.test_p2p_discipline -*-
"""
What the node holds against IP addresses: discouragements and bans, applied
from the fault table (L{neo_twisted.p2p.faults}) or by the operator.

A plain object: every method that depends on time takes C{now}. The connection
service asks it whom to refuse, whom not to dial and whom to evict first.
"""

from __future__ import annotations

import ipaddress
from collections import Counter, deque
from collections.abc import Iterable

from twisted.logger import Logger

from neo_twisted.p2p.faults import ESCALATE_AFTER, ESCALATE_WITHIN, Fault, Response

__all__ = ["BAN_DURATION", "DISCOURAGE_DURATION", "FOREVER", "Discipline", "is_loopback"]

#: Seconds a ban lasts unless the operator says otherwise.
BAN_DURATION = 24 * 3600.0
#: Seconds a discouragement lasts.
DISCOURAGE_DURATION = 6 * 3600.0
#: A ban's length when it lasts the node's life (C{--ban}).
FOREVER = float("inf")
#: Hosts remembered for escalation at most (oldest forgotten first).
TRACKED_HOSTS = 10_000


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Discipline:
    """
    Discouraged and banned IPs, and the count of every fault and response.

    @ivar faults: faults seen, by label (the metrics read it).
    @ivar responses: responses applied, by label.
    """

    _log = Logger()

    def __init__(self, *, whitelist: Iterable[str] = (), protect_loopback: bool = True,
                 discourage_for: float = DISCOURAGE_DURATION,
                 ban_for: float = BAN_DURATION) -> None:
        """
        @param whitelist: IPs (or networks, C{"10.0.0.0/8"}) never discouraged or banned.
        @param protect_loopback: loopback addresses are never discouraged or banned
            either (tests of discipline itself turn this off).
        @raise ValueError: a whitelist entry that is not an address or network.
        """
        self._whitelist = [ipaddress.ip_network(entry, strict=False) for entry in whitelist]
        self._protect_loopback = protect_loopback
        self.discourage_for = discourage_for
        self.ban_for = ban_for
        self._discouraged: dict[str, float] = {}
        self._banned: dict[str, float] = {}
        self._escalating: dict[str, deque[float]] = {}
        self.faults: Counter[str] = Counter()
        self.responses: Counter[str] = Counter()

    def protected(self, host: str) -> bool:
        """
        Whether C{host} is never discouraged or banned (loopback, whitelisted).
        """
        if self._protect_loopback and is_loopback(host):
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._whitelist)

    # -- judging ---------------------------------------------------------------------------

    def judged(self, host: str, fault: Fault, now: float) -> Response:
        """
        Count C{fault} by C{host} and apply its response to the IP: the response
        applied (a protected host is at most disconnected).
        """
        self.faults[fault.label] += 1
        response = fault.response
        if fault.escalates and self._escalate(host, now):
            response = Response.BAN
        if response >= Response.DISCOURAGE and self.protected(host):
            response = Response.DISCONNECT
        if response is Response.BAN:
            self.ban(host, now + self.ban_for)
            self._log.warn("banned {host} for {seconds:.0f} s: {fault} again "
                           "({count} times within {within:.0f} s)", host=host,
                           seconds=self.ban_for, fault=fault.label, count=ESCALATE_AFTER,
                           within=ESCALATE_WITHIN)
        elif response is Response.DISCOURAGE:
            self._discouraged[host] = max(now + self.discourage_for,
                                          self._discouraged.get(host, 0.0))
            self._log.info("discouraged {host} for {seconds:.0f} s: {fault}", host=host,
                           seconds=self.discourage_for, fault=fault.label)
        self.responses[response.label] += 1
        return response

    def ignored(self, fault: Fault) -> None:
        """
        Count a fault whose response is to ignore it (nothing is held against the IP).
        """
        self.faults[fault.label] += 1
        self.responses[Response.IGNORE.label] += 1

    def _escalate(self, host: str, now: float) -> bool:
        times = self._escalating.pop(host, None)
        if times is None:
            times = deque(maxlen=ESCALATE_AFTER)
            if len(self._escalating) >= TRACKED_HOSTS:
                del self._escalating[next(iter(self._escalating))]
        times.append(now)
        self._escalating[host] = times  # most recent last
        return len(times) == ESCALATE_AFTER and now - times[0] <= ESCALATE_WITHIN

    # -- the operator ----------------------------------------------------------------------

    def ban(self, host: str, until: float) -> None:
        """
        Refuse C{host} until C{until} (an operator's ban applies to protected hosts too).
        """
        self._banned[host] = max(until, self._banned.get(host, until))

    def unban(self, host: str) -> bool:
        """
        Lift a ban and a discouragement; whether there was one.
        """
        return bool(self._banned.pop(host, None)) | bool(self._discouraged.pop(host, None))

    # -- what the connection service asks --------------------------------------------------

    def is_banned(self, host: str, now: float) -> bool:
        until = self._banned.get(host)
        if until is None:
            return False
        if until > now:
            return True
        del self._banned[host]
        return False

    def is_discouraged(self, host: str, now: float) -> bool:
        until = self._discouraged.get(host)
        if until is None:
            return False
        if until > now:
            return True
        del self._discouraged[host]
        return False

    def shunned(self, now: float) -> set[str]:
        """
        The IPs not to dial now: banned or discouraged.
        """
        self.expire(now)
        return set(self._banned) | set(self._discouraged)

    def bans(self, now: float) -> dict[str, float]:
        """
        Banned IPs and until when.
        """
        self.expire(now)
        return dict(self._banned)

    def discouraged(self, now: float) -> dict[str, float]:
        """
        Discouraged IPs and until when.
        """
        self.expire(now)
        return dict(self._discouraged)

    def expire(self, now: float) -> None:
        self._banned = {h: t for h, t in self._banned.items() if t > now}
        self._discouraged = {h: t for h, t in self._discouraged.items() if t > now}
