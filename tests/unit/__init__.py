"""
Unit tests: in one process, on fakes (L{twisted.internet.testing}, L{twisted.test.iosim},
a clock) and temporary stores; C{make test-unit} runs them alone.
"""
