"""
C{--log-format json}: one flat JSON record per event, with exactly the keys a log
shipper can index, and none of Twisted's internals.
"""

from __future__ import annotations

import io
import json
from typing import Any

from twisted.logger import Logger, LogLevel, globalLogPublisher
from twisted.python import log as legacy_log
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.node.logs import JsonLogObserverFactory, flat_record, json_line
from tests.support.logs import appending_to

#: 2026-12-07T11:22:33.123456Z as an epoch time.
WHEN = 1796642553.123456


class Peer:
    """
    An object in an event (as peers and hashes are): shown in the message only.
    """

    def __str__(self) -> str:
        return "10.0.0.7:20333"


def emitted(emit: Any) -> list[dict[str, Any]]:
    """
    The JSON lines written when C{emit(logger)} logs, decoded.
    """
    out = io.StringIO()
    observer = JsonLogObserverFactory("-", nodaemon=True)
    observer._destination = lambda: out  # type: ignore[method-assign]
    emit(Logger(namespace="neo_twisted.test", observer=observer()))
    return [json.loads(line) for line in out.getvalue().splitlines()]


class FlatRecordTests(SynchronousTestCase):
    def test_exact_keys(self) -> None:
        """
        The record holds the time in ISO 8601 UTC, the level's name, the namespace,
        the formatted text and the event's plain fields: nothing else.
        """
        [record] = emitted(lambda log: log.info(
            "peer {peer} at {height}, {rate:.1f} blocks/s", peer=Peer(), height=7,
            rate=2.5, synced=True, hint=None))
        self.assertEqual(list(record), ["time", "level", "namespace", "message", "height",
                                        "rate", "synced", "hint"])
        self.assertEqual(record["level"], "info")
        self.assertEqual(record["namespace"], "neo_twisted.test")
        self.assertEqual(record["message"], "peer 10.0.0.7:20333 at 7, 2.5 blocks/s")
        self.assertEqual((record["height"], record["rate"], record["synced"], record["hint"]),
                         (7, 2.5, True, None))
        self.assertRegex(record["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

    def test_time_in_utc(self) -> None:
        record = flat_record({"log_time": WHEN, "log_level": LogLevel.info,
                              "log_namespace": "n", "log_format": "x"})
        self.assertEqual(record["time"], "2026-12-07T11:22:33.123456Z")

    def test_levels(self) -> None:
        """
        Each level by its name: debug, info, warn, error, critical.
        """
        records = emitted(lambda log: [log.emit(level, "x") for level in LogLevel.iterconstants()])
        self.assertEqual([r["level"] for r in records],
                         ["debug", "info", "warn", "error", "critical"])

    def test_no_twisted_internals(self) -> None:
        """
        No C{log_*} key, no object, no list, no bytes, no non-finite number: only
        what JSON holds as it is.
        """
        [record] = emitted(lambda log: log.warn(
            "odd", peers=["a", "b"], raw=b"\x00", obj=object(), inf=float("inf"),
            nan=float("nan"), count=3))
        self.assertEqual(sorted(record), ["count", "level", "message", "namespace", "time"])
        self.assertEqual(record["level"], "warn")

    def test_failure_as_traceback(self) -> None:
        """
        A failure becomes its traceback text, under C{traceback}; the message is the
        event's own text.
        """
        def fail(log: Logger) -> None:
            try:
                1 / 0  # noqa: B018
            except ZeroDivisionError:
                log.failure("writing block {height} failed", height=9)
        [record] = emitted(fail)
        self.assertEqual(sorted(record), ["height", "level", "message", "namespace",
                                          "time", "traceback"])
        self.assertEqual((record["level"], record["message"]),
                         ("critical", "writing block 9 failed"))
        self.assertIn("ZeroDivisionError", record["traceback"])
        self.assertIn("Traceback", record["traceback"])

    def test_record_keys_win(self) -> None:
        """
        An event field named as one of the record's keys gives way to it (legacy
        events carry an epoch C{time}, for one).
        """
        record = flat_record({"log_time": WHEN, "log_level": LogLevel.error,
                              "log_namespace": "n", "log_format": "text {time}",
                              "time": 1.5, "level": "x", "message": "y", "namespace": "z",
                              "traceback": "fake"})
        self.assertEqual(record, {"time": "2026-12-07T11:22:33.123456Z", "level": "error",
                                  "namespace": "n", "message": "text 1.5"})

    def test_legacy_events(self) -> None:
        """
        What Twisted itself logs through C{twisted.python.log} reads the same way:
        its text as the message, its C{system} kept, its message tuple and epoch
        time left out.
        """
        events: list[Any] = []
        observer = appending_to(events)
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        legacy_log.msg("Starting factory", system="-")
        legacy_log.err(Failure(ValueError("bad")), "something broke")
        self.flushLoggedErrors(ValueError)
        message, error = (json.loads(json_line(event)) for event in events[-2:])
        self.assertEqual((message["message"], message["system"], message["level"]),
                         ("Starting factory", "-", "info"))
        self.assertEqual(sorted(message), ["level", "message", "namespace", "system", "time"])
        self.assertEqual(sorted(error), ["level", "message", "namespace", "system", "time",
                                         "traceback"])
        self.assertEqual(error["level"], "critical")
        self.assertEqual(error["message"], "something broke")
        self.assertIn("ValueError: bad", error["traceback"])
