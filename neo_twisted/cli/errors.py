"""
The one failure the command line reports without a traceback.
"""


class CommandError(Exception):
    """
    A user-facing failure: printed as one line, exit status 1.
    """
