"""
neo_twisted: a NEO 2.x compatible peer-to-peer node on Twisted.

Layers, each a subpackage with one job:

  - L{neo_twisted.wire}: binary primitives (readers, writers, UInt160/UInt256, ECPoint, Fixed8).
  - L{neo_twisted.crypto}: hashing, ECDSA, keys, addresses, standard scripts and witness checks.
  - L{neo_twisted.core}: ledger structures (transactions, blocks, headers, consensus payloads).
  - L{neo_twisted.network}: P2P message frames and payloads.
"""

#: The one place the version is written: setup.cfg, the user agent, C{neonode --version}
#: and C{twistd neonode --version} read it.
__version__ = "0.1.0"


def version_text() -> str:
    """
    The node's version with what it runs on, as C{--version} prints it.
    """
    import platform

    import twisted
    return (f"neo_twisted {__version__} (Twisted {twisted.__version__}, "
            f"Python {platform.python_version()})")
