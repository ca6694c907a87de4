"""
The NEO 2 JSON-RPC server: HTTP(S) transport, request handling, and the node's methods.
"""
