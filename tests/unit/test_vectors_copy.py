"""
The conformance vectors are the repository's own copy (C{tests/data/vectors/}): the tests
read it unless C{$NEO_VECTORS} says otherwise, every file is the one PROVENANCE.md
accounts for (SHA256SUMS), and a missing copy fails loudly.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.support import vectors
from tests.support.vectors import DEFAULT_VECTORS_DIR, VECTORS_ENV, VectorsUnavailable

#: The repository root: the parent of C{tests/}.
ROOT = Path(__file__).resolve().parents[2]

#: The files about the copy rather than copied: not in SHA256SUMS.
NOTES = {"SHA256SUMS", "PROVENANCE.md"}


def _sums() -> dict[str, str]:
    """
    C{relative path: sha256 hex} from SHA256SUMS (C{sha256sum}'s format).
    """
    listed: dict[str, str] = {}
    for line in (DEFAULT_VECTORS_DIR / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    return listed


class LocationTests(SynchronousTestCase):
    """
    Where the tests look for the vectors.
    """

    def set_environment(self, value: str | None) -> None:
        """
        Set (or, with C{None}, remove) C{$NEO_VECTORS} for this test only.
        """
        old = os.environ.get(VECTORS_ENV)
        if value is None:
            os.environ.pop(VECTORS_ENV, None)
        else:
            os.environ[VECTORS_ENV] = value

        def restore() -> None:
            if old is None:
                os.environ.pop(VECTORS_ENV, None)
            else:
                os.environ[VECTORS_ENV] = old
        self.addCleanup(restore)

    def test_default_is_inside_the_repository(self) -> None:
        """
        Without C{$NEO_VECTORS} (or with it empty) the folder is C{tests/data/vectors}
        of this repository, so a clone with nothing beside it finds its vectors.
        """
        self.assertEqual(DEFAULT_VECTORS_DIR, ROOT / "tests" / "data" / "vectors")
        for value in (None, ""):
            self.set_environment(value)
            self.assertEqual(vectors.vectors_dir(), DEFAULT_VECTORS_DIR)
        self.assertTrue((DEFAULT_VECTORS_DIR / "blocks.json").is_file())

    def test_environment_overrides(self) -> None:
        """
        C{$NEO_VECTORS} names another copy, and the loader reads that one.
        """
        other = Path(self.mktemp())
        other.mkdir()
        (other / "blocks.json").write_text(
            '[{"kind": "block", "expect": {}, "hex": "00"}]', encoding="utf-8")
        self.set_environment(str(other))
        self.assertEqual(vectors.vectors_dir(), other)
        self.assertEqual(vectors.load_vectors("blocks.json"),
                         [{"kind": "block", "expect": {}, "hex": "00"}])

    def test_missing_folder_fails(self) -> None:
        """
        A folder that does not exist is a failure that says how to fix it, not a skip.
        """
        missing = Path(self.mktemp())
        self.set_environment(str(missing))
        error = self.assertRaises(VectorsUnavailable, vectors.load_vectors, "blocks.json")
        self.assertIn(str(missing), str(error))
        self.assertIn("tests/data/vectors/", str(error))


class CopyTests(SynchronousTestCase):
    """
    The copy is whole and unedited, and its provenance covers it.
    """

    def test_every_file_matches_its_sum(self) -> None:
        """
        Each file SHA256SUMS lists has that hash, and no file is there that it does not
        list: an edited, lost or stray vector shows up here.
        """
        listed = _sums()
        present = {path.relative_to(DEFAULT_VECTORS_DIR).as_posix()
                   for path in DEFAULT_VECTORS_DIR.rglob("*") if path.is_file()}
        self.assertEqual(present - NOTES, set(listed))
        wrong = [name for name, digest in sorted(listed.items())
                 if hashlib.sha256((DEFAULT_VECTORS_DIR / name).read_bytes()).hexdigest()
                 != digest]
        self.assertEqual(wrong, [])

    def test_whole_set(self) -> None:
        """
        Every set the shared folder held came along: the five record files, both
        READMEs, the interop tables and the 109 neo-vm JSON tests with their licence.
        """
        listed = set(_sums())
        for name in ("README.md", "blocks.json", "crypto.json", "headers.json",
                     "messages.json", "transactions.json", "vm/README.md",
                     "vm/interop_services.json", "vm/interop_price_cases.json",
                     "vm/neo-vm-v2.4.3/LICENSE"):
            self.assertIn(name, listed)
        vm_tests = [name for name in listed
                    if name.startswith("vm/neo-vm-v2.4.3/Tests/") and name.endswith(".json")]
        self.assertEqual(len(vm_tests), 109)

    def test_provenance_names_every_set(self) -> None:
        """
        PROVENANCE.md says when the copy was made and names every JSON file and the
        neo-vm folder, so nothing in the copy is of unstated origin.
        """
        text = (DEFAULT_VECTORS_DIR / "PROVENANCE.md").read_text(encoding="utf-8")
        self.assertIn("2026-12-07", text)
        sets = {name for name in _sums() if "/" not in name.removeprefix("vm/")}
        sets.add("vm/neo-vm-v2.4.3/")
        for name in sorted(sets - {"README.md", "vm/README.md"}):
            self.assertIn(f"`{name}`", text)
