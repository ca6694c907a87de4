"""
What the tests share and that is not a test: samples, fakes, the bases of test cases
(with no test methods of their own) and the drivers of real nodes and processes.
"""
