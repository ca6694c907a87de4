"""
Hypothesis settings shared by the property tests (C{tests.test_properties_*}).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

#: Multiplies every example count: C{NEO_PROPERTY_SCALE=100 trial tests.unit.test_properties_fuzz}
#: (or any property module) for a long fuzzing run; the default keeps each module well under
#: a minute.
SCALE = int(os.environ.get("NEO_PROPERTY_SCALE", "1"))


def examples(count: int) -> settings:
    """
    Settings for C{count} examples (times L{SCALE}), with no per-example deadline: the
    first example of a run pays for imports and key derivation.
    """
    return settings(max_examples=count * SCALE, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


#: Round trips: small structures, each example costs well under a millisecond.
ROUND_TRIP = examples(100)
#: Fuzzing: most inputs fail within a few bytes, so many more examples.
FUZZ = examples(500)
#: Properties that draw one payload for every command in each example.
HEAVY = examples(40)
