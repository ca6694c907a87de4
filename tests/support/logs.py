"""
Log events caught in tests, typed: Twisted's helpers are annotated narrower than
they work (an observer must provide L{ILogObserver}, which a list's C{append} does
not declare; L{EventLoggingObserver.createWithCleanup} asks for the asynchronous
L{TestCase} but only calls C{addCleanup}).
"""

from __future__ import annotations

from typing import cast

from twisted.internet.testing import EventLoggingObserver
from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase, TestCase


def appending_to(events: list[LogEvent]) -> ILogObserver:
    """
    An observer that appends every event to C{events}.
    """
    return cast(ILogObserver, events.append)


def captured_events(case: SynchronousTestCase) -> EventLoggingObserver:
    """
    The events of the global publisher while C{case} runs.
    """
    return EventLoggingObserver.createWithCleanup(cast(TestCase, case), globalLogPublisher)
