"""
The Prometheus endpoint: what the node exports, and the resource serving it.
"""
