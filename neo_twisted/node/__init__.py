"""
The node: its policy (what to ask, serve and relay), its services and its twistd plugin.
"""
