"""
The declared dependencies (setup.cfg) are every package the node imports, each with a
lower bound only, and packaging/min-constraints.txt pins exactly those lower bounds for
C{make check-min-deps}. Under that target (C{$NEO_MIN_DEPS=1}) the installed versions
must be the pinned ones, so its test run proves the minimums rather than what pip chose.
"""

from __future__ import annotations

import ast
import configparser
import functools
import importlib.metadata
import os
import re
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

ROOT = Path(__file__).resolve().parents[2]
SETUP_CFG = ROOT / "setup.cfg"
CONSTRAINTS = ROOT / "packaging" / "min-constraints.txt"

#: Set by C{make check-min-deps}: the environment holds exactly the pinned versions.
MIN_DEPS_ENV = "NEO_MIN_DEPS"

#: The extras whose packages the node imports (optional features).
IMPORTED_EXTRAS = ("metrics",)

#: Declared without being imported, and why.
NOT_IMPORTED = {"service-identity": "Twisted's TLS checks certificate host names with it"}

_REQUIREMENT = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)>=([0-9][0-9.]*)")
_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][0-9.]*)")


def canonical(name: str) -> str:
    """
    A distribution name as pip compares them (PEP 503).
    """
    return re.sub(r"[-_.]+", "-", name).lower()


def version_key(version: str) -> tuple[int, ...]:
    """
    The release numbers of C{version}, without trailing zeros (C{5.0.0} is C{5}).
    """
    match = re.match(r"\d+(?:\.\d+)*", version)
    if match is None:
        raise ValueError(f"no release number in {version!r}")
    numbers = [int(part) for part in match.group().split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def _lines(text: str) -> list[str]:
    return [line.split("#", 1)[0].strip() for line in text.splitlines()
            if line.split("#", 1)[0].strip()]


def declared(extras: tuple[str, ...] = IMPORTED_EXTRAS) -> dict[str, str]:
    """
    C{name: lowest version} of setup.cfg's install_requires and C{extras}.

    @raise ValueError: a requirement that is not C{name>=version} (no upper bound, no
        requirement without a bound).
    """
    config = configparser.ConfigParser()
    config.read(SETUP_CFG, encoding="utf-8")
    lines = _lines(config["options"]["install_requires"])
    for extra in extras:
        lines += _lines(config["options.extras_require"][extra])
    found = {}
    for line in lines:
        match = _REQUIREMENT.fullmatch(line.replace(" ", ""))
        if match is None:
            raise ValueError(f"setup.cfg: {line!r} is not NAME>=VERSION")
        found[canonical(match.group(1))] = match.group(2)
    return found


def pinned() -> dict[str, str]:
    """
    C{name: version} of packaging/min-constraints.txt.

    @raise ValueError: a line that is not C{name==version}.
    """
    found = {}
    for line in _lines(CONSTRAINTS.read_text(encoding="utf-8")):
        match = _PIN.fullmatch(line.replace(" ", ""))
        if match is None:
            raise ValueError(f"min-constraints.txt: {line!r} is not NAME==VERSION")
        found[canonical(match.group(1))] = match.group(2)
    return found


def _imported_modules(path: Path) -> set[str]:
    """
    The absolute imports of one file, but those under C{if TYPE_CHECKING:}.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(node) for branch in ast.walk(tree)
                   if isinstance(branch, ast.If) and "TYPE_CHECKING" in ast.unparse(branch.test)
                   for child in branch.body for node in ast.walk(child)}
    modules: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


@functools.cache
def _owners(top: str) -> tuple[str, ...]:
    """
    The installed distributions that ship top-level name C{top}, but this project.
    """
    owners = importlib.metadata.packages_distributions().get(top, [])
    return tuple(sorted({name for name in owners if canonical(name) != "neo-twisted"}))


@functools.cache
def distribution_of(module: str) -> str | None:
    """
    The installed distribution that provides C{module}; C{None} for the standard
    library and this project. Where a top-level name is shared (C{zope}, C{twisted}),
    the one that ships the module's subpackage.
    """
    top, _, rest = module.partition(".")
    if top in sys.stdlib_module_names or top in ("neo_twisted", "tests"):
        return None
    owners = list(_owners(top))
    if len(owners) > 1 and rest:
        sub = f"{top}/{rest.split('.')[0]}"
        owners = [name for name in owners
                  if any(str(file).startswith((sub + "/", sub + "."))
                         for file in importlib.metadata.files(name) or ())]
    if len(owners) != 1:
        raise LookupError(f"no single installed distribution provides {module}: {owners}")
    return canonical(owners[0])


def imported_distributions() -> dict[str, set[str]]:
    """
    C{distribution: the modules that import it} for neo_twisted/ and twisted/plugins/.
    """
    found: dict[str, set[str]] = {}
    for path in [*(ROOT / "neo_twisted").rglob("*.py"), *(ROOT / "twisted").rglob("*.py")]:
        for module in _imported_modules(path):
            name = distribution_of(module)
            if name is not None:
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


class DeclarationTests(SynchronousTestCase):
    """
    setup.cfg against the imports and against min-constraints.txt.
    """

    def test_constraints_pin_the_lower_bounds(self) -> None:
        """
        min-constraints.txt pins each declared requirement (extras too) at its lower
        bound, and nothing else; each requirement is C{>=} only (upper bounds open).
        """
        self.assertEqual(pinned(), declared(("metrics",)))

    def test_every_import_declared(self) -> None:
        """
        Every package the node imports is a declared requirement: the optional
        (prometheus-client) in an extra, the others in install_requires.
        """
        imported = imported_distributions()
        required = declared(())
        missing = {name: sorted(users) for name, users in imported.items()
                   if name not in declared()}
        self.assertEqual(missing, {})
        for name in declared():
            if name not in required:
                self.assertIn(name, imported, f"{name}: in an extra but never imported")
        for name in ("twisted", "automat", "attrs", "zope-interface", "cryptography",
                     "pyopenssl", "lmdb"):
            self.assertIn(name, imported)
            self.assertIn(name, required)

    def test_nothing_declared_unused(self) -> None:
        """
        Every declared requirement is imported, but those named with a reason.
        """
        unused = set(declared()) - set(imported_distributions())
        self.assertEqual(unused, set(NOT_IMPORTED))

    def test_bounds_are_checked(self) -> None:
        """
        The parsers refuse what they cannot check: an upper bound, a bare name.
        """
        self.assertIsNone(_REQUIREMENT.fullmatch("lmdb>=1.0,<2"))
        self.assertIsNone(_REQUIREMENT.fullmatch("lmdb"))
        self.assertEqual(version_key("5.0.0"), version_key("5"))
        self.assertLess(version_key("24.8.1"), version_key("24.10"))


class InstalledTests(SynchronousTestCase):
    """
    The environment running the tests against the pins.
    """

    def test_installed_versions(self) -> None:
        """
        Each pinned package is installed at its minimum or later; under C{make
        check-min-deps}, at exactly its minimum.
        """
        exact = os.environ.get(MIN_DEPS_ENV) == "1"
        wrong = {}
        for name, minimum in pinned().items():
            try:
                installed = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                wrong[name] = "not installed"
                continue
            if (version_key(installed) != version_key(minimum) if exact
                    else version_key(installed) < version_key(minimum)):
                wrong[name] = f"{installed} (minimum {minimum})"
        self.assertEqual(wrong, {})

    def test_wheel_leaves_out_test_data(self) -> None:
        """
        The packages setup.cfg selects are the node and its plugin only: the tests and
        their vectors (tests/data/) are not installed.
        """
        from setuptools import find_namespace_packages

        config = configparser.ConfigParser()
        config.read(SETUP_CFG, encoding="utf-8")
        include = _lines(config["options.packages.find"]["include"])
        packages = find_namespace_packages(str(ROOT), include=include)
        self.assertIn("neo_twisted", packages)
        self.assertIn("twisted.plugins", packages)
        self.assertEqual([name for name in packages
                          if not name.startswith(("neo_twisted", "twisted.plugins"))], [])
