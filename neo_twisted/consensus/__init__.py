"""
dBFT 1.0 block production (neo <= 2.9.4): the round's state, the primary's
proposal, and the service that runs rounds for a validator node.

L{context} holds one round as plain data with the reference's transitions
(reset, view change, header, block); L{proposal} makes and checks proposals;
L{service} reacts to payloads, transactions, persisted blocks and timers. The
payloads themselves travel through L{neo_twisted.node.consensus}.
"""
