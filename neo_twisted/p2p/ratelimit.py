# -*- test-case-name: tests.unit.test_p2p_ratelimit -*-
"""
Token buckets: how much of something a peer may send us in a while.

A bucket holds up to C{burst} tokens and refills at C{rate} tokens a second; each
item let through costs one. It is pure arithmetic on the times it is given (the
reactor's C{seconds()}), so it is tested with plain numbers and needs no clock.
"""

from __future__ import annotations

__all__ = ["ADDR_BURST", "ADDR_RATE", "TokenBucket"]

#: Addresses a peer may give us per second in C{addr}: about 1,000 per 10 minutes,
#: so one peer cannot turn the address book over faster than peers come and go.
ADDR_RATE = 1000 / 600
#: Addresses a peer may give us at once: our C{getaddr} asks for 200 at most and a
#: fresh peer's answer (or five of them) must always fit.
ADDR_BURST = 1000.0

# Tokens are floats: a refill of 1/rate seconds may come to 0.9999999999.
_EPSILON = 1e-9


class TokenBucket:
    """
    Up to C{burst} items at once, C{rate} items a second on average.

    The bucket starts full: a new peer may send its first burst at once.

    @ivar rate: tokens added per second.
    @ivar burst: tokens held at most.
    """

    __slots__ = ("_at", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        """
        @param now: the time the bucket starts (full) at.
        @raise ValueError: a negative rate or a burst below one token.
        """
        if rate < 0 or burst < 1:
            raise ValueError(f"a token bucket needs rate >= 0 and burst >= 1, "
                             f"got {rate} and {burst}")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at = now

    def tokens(self, now: float) -> float:
        """
        The tokens available at C{now} (refilled, nothing taken).
        """
        self._refill(now)
        return self._tokens

    def take(self, count: int, now: float) -> int:
        """
        How many of C{count} items are allowed at C{now}; the tokens for them are spent.

        A time earlier than the last one given adds nothing (a clock stepped back
        must not refill the bucket, nor drain it).
        """
        self._refill(now)
        allowed = max(0, min(count, int(self._tokens + _EPSILON)))
        self._tokens = max(0.0, self._tokens - allowed)
        return allowed

    def _refill(self, now: float) -> None:
        if now > self._at:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now

    def __repr__(self) -> str:
        return f"<TokenBucket {self._tokens:.1f}/{self.burst:g} at {self.rate:g}/s>"
