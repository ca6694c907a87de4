# -*- test-case-name: tests.unit.test_node_tap -*-
"""
C{--log-format json}: twistd's log destination, one JSON event per line.

twistd chooses where the log goes (C{--logfile}, standard output with
C{--nodaemon}, C{twistd.log} otherwise) and writes text. A JSON log keeps the
events' plain fields (heights, peers, reasons) for a log shipper to index, so the
option hands twistd an observer factory (its C{--logger} hook) that keeps the
same destination rules and writes flat JSON records instead (L{flat_record}):
not C{twisted.logger}'s own JSON, whose records carry its internals (the level
as an object, epoch floats, C{unpersistable} markers) that a shipper cannot use.
"""

from __future__ import annotations

import json
import math
import signal
import sys
from datetime import UTC, datetime
from typing import IO, cast

from twisted.logger import FileLogObserver, ILogObserver, LogEvent, formatEvent
from twisted.python.failure import Failure
from twisted.python.logfile import LogFile

from neo_twisted.reactors import global_reactor

LOG_FORMATS = ("text", "json")
#: The record's own keys: an event field of the same name gives way to them.
RECORD_KEYS = ("time", "level", "namespace", "message", "traceback")
#: What C{twisted.python.log} events carry besides their text (which is the message).
LEGACY_KEYS = frozenset({"format", "isError", "why", "printed"})


def _plain(value: object) -> bool:
    """
    Whether JSON holds C{value} as it is: a string, a finite number, a boolean or null.
    """
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, (str, int))


def flat_record(event: LogEvent) -> dict[str, object]:
    """
    The JSON record of C{event}: C{time} (ISO 8601, UTC), C{level}, C{namespace},
    C{message} (the text the text log shows), C{traceback} when a failure came with
    it, and the event's own fields whose values are plain (L{_plain}); Twisted's
    C{log_*} keys, the legacy log's bookkeeping (L{LEGACY_KEYS}) and any other
    value (objects, bytes, lists) are left out.
    """
    stamp = datetime.fromtimestamp(event.get("log_time", 0.0), tz=UTC)
    record: dict[str, object] = {
        "time": stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "level": getattr(event.get("log_level"), "name", "info"),
        "namespace": str(event.get("log_namespace", "")),
        "message": formatEvent(event)}
    record.update((key, value) for key, value in event.items()
                  if not key.startswith("log_") and key not in RECORD_KEYS
                  and key not in LEGACY_KEYS and _plain(value))
    failure = event.get("log_failure")
    legacy = event.get("failure")  # log.err's: its text holds the traceback already
    if failure is None and isinstance(legacy, Failure):
        failure = legacy
        record["message"] = str(event.get("why") or "Unhandled Error")
    if isinstance(failure, Failure):
        record["traceback"] = failure.getTraceback()
    return record


def json_line(event: LogEvent) -> str:
    """
    One event as one line of JSON, in ASCII (newlines and other characters escaped),
    whatever the log file's encoding.
    """
    return json.dumps(flat_record(event)) + "\n"


class JsonLogObserverFactory:
    """
    Builds the JSON observer when twistd starts logging (after the options are parsed).
    """

    def __init__(self, logfile: str | None, nodaemon: bool) -> None:
        self.logfile = logfile or ""
        self.nodaemon = nodaemon

    def _destination(self) -> IO[str]:
        if self.logfile == "-" or (self.nodaemon and not self.logfile):
            return sys.stdout
        log_file: LogFile = LogFile.fromFullPath(  # type: ignore[no-untyped-call]
            self.logfile or "twistd.log")
        if not signal.getsignal(signal.SIGUSR1):  # rotate on SIGUSR1, as twistd's text log does
            def rotate(signum: int, frame: object) -> None:
                global_reactor().callFromThread(log_file.rotate)
            signal.signal(signal.SIGUSR1, rotate)
        return cast(IO[str], log_file)  # a file-like object, as twistd uses it

    def __call__(self) -> ILogObserver:
        observer: ILogObserver = FileLogObserver(self._destination(), json_line)
        return observer


#: What C{--log-format json} chose (twistd takes its C{--logger} as a dotted name).
_chosen = JsonLogObserverFactory(None, nodaemon=True)
#: The dotted name handed to twistd's C{--logger}.
OBSERVER_NAME = f"{__name__}.json_observer"


def choose_json(logfile: str | None, nodaemon: bool) -> str:
    """
    Remember twistd's log destination for L{json_observer}; the name to give C{--logger}.
    """
    global _chosen
    _chosen = JsonLogObserverFactory(logfile, nodaemon)
    return OBSERVER_NAME


def json_observer() -> ILogObserver:
    """
    The observer twistd installs (its C{--logger}), once it starts logging.
    """
    return _chosen()
