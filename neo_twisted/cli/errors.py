"""
The one failure the command line reports without a traceback, and what each command
module adds its parser to.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    #: C{ArgumentParser.add_subparsers()}'s result (typeshed's name; not subscriptable
    #: at run time).
    Subcommands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


class CommandError(Exception):
    """
    A user-facing failure: printed as one line, exit status 1.
    """
