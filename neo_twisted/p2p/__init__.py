"""
Peer-to-peer networking: connections, the handshake, addresses, inventory.
"""
