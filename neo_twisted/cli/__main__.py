"""
C{python -m neo_twisted.cli}: the same as the C{neonode} console script.
"""

import sys

from neo_twisted.cli import main

sys.exit(main())
