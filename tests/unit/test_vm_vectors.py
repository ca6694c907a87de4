"""
The 109 official neo-vm v2.4.3 JSON test files (295 tests, 502 steps), one test method per file.

Each method runs every test of its file as the C# harness does and compares the whole
state after each step. A file listed in L{NOT_YET_PASSING} runs as an expected failure
(trial's C{todo}), so when it starts passing the run reports an unexpected success.
"""

from __future__ import annotations

import re
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.support.vm_vectors import run_file, vector_files

#: Vector files (relative to the Tests folder) the engine does not pass yet.
NOT_YET_PASSING: frozenset[str] = frozenset()

#: What the vectors' README promises: a smaller count means files went missing.
EXPECTED_FILES = 109
EXPECTED_TESTS = 295


def _method_name(relative: Path) -> str:
    return "test_" + re.sub(r"\W", "_", str(relative.with_suffix("")))


def _make_test(relative: Path) -> object:
    def test(self: TestCase) -> None:
        count, failures = run_file(relative)
        self.assertGreater(count, 0)
        if failures:
            self.fail(f"{len(failures)} of {count} tests fail:\n" + "\n".join(failures))
    test.__doc__ = f"Every test of {relative} passes."
    if str(relative) in NOT_YET_PASSING:
        test.todo = f"vector file {relative} does not pass yet"  # type: ignore[attr-defined]
    return test


class OfficialVectorFilesTests(TestCase):
    """
    One method per vector file, built from the directory listing.
    """

    def test_all_files_present(self) -> None:
        """
        The copy holds every file and test of the official set.
        """
        files = vector_files()
        self.assertEqual(len(files), EXPECTED_FILES)
        self.assertEqual(sum(run_file(f)[0] for f in files), EXPECTED_TESTS)
        self.assertLessEqual(NOT_YET_PASSING, {str(f) for f in files})


for _relative in vector_files():
    setattr(OfficialVectorFilesTests, _method_name(_relative), _make_test(_relative))
del _relative
