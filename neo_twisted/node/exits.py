"""
The node's exit statuses for failures that restarting does not cure (sysexits.h),
which the systemd unit lists in C{RestartPreventExitStatus=}.
"""

from __future__ import annotations

#: The store refused a write (a full disk, an I/O error): C{EX_IOERR}.
EXIT_STORE_FAILED = 74
#: The store cannot be used (damaged, another network's, a newer schema, a read-only
#: file system): C{EX_CONFIG}.
EXIT_STORE_UNUSABLE = 78
