"""
Fuzzing of every parser that outside bytes reach: the targets (L{fuzz.targets}) and the
runner (C{python -m fuzz.run}, C{make fuzz}). See L{fuzz.run} for how a run works.
"""
