"""
NeoVM 2.x (neo-vm v2.4.3): stack items, script decoding, the execution engine and its debugger.

The engine is pure: it knows nothing of the ledger. What neo plugs into it (interop
services, the script container, the contract table, GAS accounting) comes in through
the small interfaces of L{neo_twisted.vm.interfaces}.
"""

from neo_twisted.vm import ops_basic, ops_collections, ops_numeric

# The dispatch table lives in the engine; the opcode modules fill it once, here.
ops_basic.register()
ops_numeric.register()
ops_collections.register()
