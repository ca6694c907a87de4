"""
The P2P layer: message frames and payloads (this package so far holds the pure wire part).
"""
