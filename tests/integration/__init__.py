"""
Integration tests: real nodes over loopback, C{twistd} and C{neonode} processes, verifier
processes, crashes, soaks and packaging; C{make test-integration} runs them alone.
"""
