# -*- test-case-name: tests.test_node_tap -*-
"""
C{--log-format json}: twistd's log destination, one JSON event per line.

twistd chooses where the log goes (C{--logfile}, standard output with
C{--nodaemon}, C{twistd.log} otherwise) and writes text. A JSON log keeps every
event's fields (heights, peers, reasons) for a log shipper to index, so the
option hands twistd an observer factory (its C{--logger} hook) that keeps the
same destination rules and writes C{twisted.logger}'s JSON instead.
"""

from __future__ import annotations

import signal
import sys
from typing import IO, Any

from twisted.logger import ILogObserver, LogEvent, formatEvent, jsonFileLogObserver
from twisted.python.logfile import LogFile
from zope.interface import implementer

LOG_FORMATS = ("text", "json")


class JsonLogObserverFactory:
    """
    Builds the JSON observer when twistd starts logging (after the options are parsed).
    """

    def __init__(self, logfile: str | None, nodaemon: bool) -> None:
        self.logfile = logfile or ""
        self.nodaemon = nodaemon

    def _destination(self) -> IO[Any]:
        if self.logfile == "-" or (self.nodaemon and not self.logfile):
            return sys.stdout
        log_file: Any = LogFile.fromFullPath(  # type: ignore[no-untyped-call]
            self.logfile or "twistd.log")
        if not signal.getsignal(signal.SIGUSR1):  # rotate on SIGUSR1, as twistd's text log does
            def rotate(signum: int, frame: object) -> None:
                from twisted.internet import reactor
                reactor.callFromThread(log_file.rotate)  # type: ignore[attr-defined]
            signal.signal(signal.SIGUSR1, rotate)
        destination: IO[Any] = log_file  # a file-like object, as twistd uses it
        return destination

    def __call__(self) -> ILogObserver:
        write = jsonFileLogObserver(self._destination(), recordSeparator="")

        @implementer(ILogObserver)
        def observe(event: LogEvent) -> None:
            # the message as the text log shows it, beside the fields it came from
            write({**event, "log_text": formatEvent(event)})
        observer: ILogObserver = observe
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
