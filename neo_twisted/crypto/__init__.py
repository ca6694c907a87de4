"""
Hashes, ECDSA on P-256, keys, addresses, standard scripts and witness checks.
"""
