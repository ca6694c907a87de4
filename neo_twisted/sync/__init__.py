"""
Chain synchronisation services: headers first, then blocks.
"""
