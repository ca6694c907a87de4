"""
No import cycle among the node's modules (issue 21): each package depends on the
ones below it, so a part can be read, tested and replaced alone. Imports under
C{if TYPE_CHECKING:} are for annotations only and do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

PACKAGE = Path(__file__).resolve().parents[2] / "neo_twisted"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """
    The package's modules C{path} imports when it is imported (or later, in a
    function): all but those under C{if TYPE_CHECKING:}.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found.update(name for name in names if name in modules)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {name: runtime_imports(path, modules) - {name} for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """
    One cycle of C{graph} (its modules in order, the first repeated last), or None.
    A package's C{__init__} importing its own modules is no cycle by itself.
    """
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for other in sorted(graph.get(name, ())):
            if name.startswith(other + "."):
                continue  # a module importing its own package's __init__
            if state.get(other) == 1:
                return [*stack[stack.index(other):], other]
            if other not in state and (cycle := visit(other)) is not None:
                return cycle
        stack.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state and (cycle := visit(name)) is not None:
            return cycle
    return None


class ImportGraphTests(SynchronousTestCase):
    def test_no_cycle(self) -> None:
        cycle = find_cycle(import_graph())
        self.assertIsNone(cycle, " -> ".join(cycle or []))

    def test_the_check_finds_a_cycle(self) -> None:
        self.assertEqual(find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}),
                         ["a", "b", "c", "a"])
        self.assertIsNone(find_cycle({"a": {"b"}, "b": set(), "p.m": {"p"}, "p": {"p.m"}}))
