"""
What the tests share and that is not a test: samples, fakes, test case bases and the
drivers of real nodes and processes. Nothing here is collected by trial.
"""
