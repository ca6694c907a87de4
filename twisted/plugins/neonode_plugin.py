"""
The C{twistd neonode} plugin: the node's options and services live in L{neo_twisted.node.tap}.
"""

from twisted.application.service import ServiceMaker

neonode = ServiceMaker("neonode", "neo_twisted.node.tap", "A NEO 2.x peer-to-peer node.",
                       "neonode")
