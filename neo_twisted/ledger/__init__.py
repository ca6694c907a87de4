"""
The ledger: protocol configuration, genesis, the LMDB chain store and chain state.
"""
