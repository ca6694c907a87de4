"""
The memory pool: transactions verified against the chain, waiting for a block.
"""
