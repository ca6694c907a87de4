"""
The reactor the node runs on, typed by what it is used for, and resolved in one place.

Every part of the node takes its reactor as a parameter, typed by the Twisted
interface it uses (L{IReactorTime} for a clock, L{IReactorTCP} to listen...), so
tests can hand it a L{twisted.internet.testing.MemoryReactorClock} or a
L{twisted.internet.task.Clock}. A part that needs several interfaces at once takes
an L{INodeReactor}. Where no reactor is given, L{global_reactor} is the one
fallback: the reactor twistd (or the program embedding the node) installed.
"""

from __future__ import annotations

from typing import TypeVar, cast

from twisted.internet.interfaces import (
    IReactorCore,
    IReactorFromThreads,
    IReactorPluggableNameResolver,
    IReactorSocket,
    IReactorSSL,
    IReactorTCP,
    IReactorTime,
    IReactorUNIX,
)

__all__ = ["INodeReactor", "global_reactor", "or_global"]

R = TypeVar("R")


class INodeReactor(IReactorCore, IReactorTime, IReactorFromThreads, IReactorTCP, IReactorSSL,
                   IReactorUNIX, IReactorSocket, IReactorPluggableNameResolver):
    """
    All a node asks of its reactor: time, threads handing work back, TCP, TLS and
    UNIX sockets, adopting a listening socket (systemd's), name resolution and its
    own shutdown. (For the type checker: no
    reactor declares it; L{global_reactor} and the tests' reactors are cast to it.)
    """


def global_reactor() -> INodeReactor:
    """
    The reactor installed in this process (importing it installs the default one).
    """
    from twisted.internet import reactor

    return cast(INodeReactor, reactor)


def or_global(reactor: R | None) -> R | INodeReactor:
    """
    C{reactor}, or the global one when none was given.
    """
    return global_reactor() if reactor is None else reactor
