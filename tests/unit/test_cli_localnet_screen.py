"""
C{neonode localnet}'s table: redrawn in place on a terminal, plain lines elsewhere
(what L{tests.integration.test_cli_localnet} parses from a pipe).
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.cli.localnet_nodes import LocalNode, Screen, table_text

_ESCAPE = re.compile(r"\x1b\[(\d*)([A-Za-z])")


def terminal(output: str) -> list[str]:
    """
    The rows a terminal shows after C{output}: text, newlines, and the two escapes
    the screen uses (C{ESC[nF}: up n rows, to the first column; C{ESC[J}: clear from
    the cursor to the end). Text is added at the row's end, which is where the
    cursor is as long as the screen clears a row before writing it again; anything
    else fails the test.
    """
    rows: list[str] = [""]
    row = 0
    position = 0
    while position < len(output):
        escape = _ESCAPE.match(output, position)
        if escape is not None:
            count, command = escape.groups()
            if command == "F":
                row = max(0, row - int(count or 1))  # to the row's first column
            elif command == "J":
                del rows[row + 1:]
                rows[row] = ""
            else:
                raise AssertionError(f"unexpected escape {escape.group()!r}")
            position = escape.end()
            continue
        char = output[position]
        if char == "\n":
            row += 1
            if row == len(rows):
                rows.append("")
        elif char == "\x1b":
            raise AssertionError(f"unexpected escape at {output[position:position + 8]!r}")
        else:
            rows[row] += char
        position += 1
    return rows


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def node(name: str, blocks: int) -> LocalNode:
    local = LocalNode(name=name, datadir=Path("/nonexistent") / name, port=20333,
                      rpc_port=20332, seeds=[], min_peers=1)
    state: dict[str, Any] = {"headerheight": blocks, "blockheight": blocks,
                             "peers": [1, 2], "mempool": {"verified": 0}}
    local.state = state
    return local


class ScreenTests(SynchronousTestCase):
    def run_demo(self, screen: Screen) -> None:
        """
        Three refreshes, with a message after the first and two after the second.
        """
        nodes = [node("node1", 10), node("node2", 8)]
        screen.table(nodes, 1.0)
        screen.message("-- node2 starts")
        nodes[1] = node("node2", 10)
        screen.table(nodes, 2.0)
        screen.message("-- node2 caught up at block 10")
        screen.message("-- demo transaction sent")
        screen.table(nodes, 3.0)

    def test_plain_lines_when_not_a_terminal(self) -> None:
        """
        Not a terminal: every table and message in order, no escape, exactly what
        the table text is (the subprocess test parses it).
        """
        out = io.StringIO()
        screen = Screen(out)
        self.assertFalse(screen.live)
        self.run_demo(screen)
        text = out.getvalue()
        self.assertNotIn("\x1b", text)
        self.assertEqual(text.count("node      port"), 3)
        messages = [line for line in text.splitlines() if line.startswith("-- ")]
        self.assertEqual(messages, ["-- node2 starts", "-- node2 caught up at block 10",
                                    "-- demo transaction sent"])
        first = text.split("-- node2 starts\n")[0]
        self.assertEqual(first, table_text([node("node1", 10), node("node2", 8)], 1.0))

    def test_redrawn_in_place_on_a_terminal(self) -> None:
        """
        On a terminal only the last table shows, below every message, in the order
        they came.
        """
        out = Tty()
        screen = Screen(out, columns=200)
        self.assertTrue(screen.live)
        self.run_demo(screen)
        rows = terminal(out.getvalue())
        self.assertEqual(rows[:3], ["-- node2 starts", "-- node2 caught up at block 10",
                                    "-- demo transaction sent"])
        shown = "\n".join(rows[3:])
        self.assertEqual(shown.count("node      port"), 1)
        self.assertIn("   3.0 s", shown)
        self.assertEqual(rows[3:], table_text([node("node1", 10), node("node2", 10)],
                                              3.0).split("\n"))
        self.assertEqual(out.getvalue().count("\x1b[J"), 5)  # 2 redraws, 3 messages

    def test_lines_cut_to_the_width(self) -> None:
        """
        A narrow terminal gets each row cut, so a redraw goes up as many rows as the
        table took.
        """
        out = Tty()
        screen = Screen(out, columns=40)
        self.run_demo(screen)
        rows = terminal(out.getvalue())
        self.assertEqual(rows[:3], ["-- node2 starts", "-- node2 caught up at block 10",
                                    "-- demo transaction sent"])
        self.assertTrue(all(len(row) <= 40 for row in rows[3:]))
        self.assertEqual(len(rows), 3 + 4 + 1)  # blank, header, two nodes, the cursor row
