"""
Tests for the keys of a protocol file that nothing reads (L{neo_twisted.ledger.settings}):
each is a warning naming the file and the key, with the known key it resembles; the
keys neo-cli 2.x has and this node ignores on purpose are no warning.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from twisted.logger import LogEvent, Logger, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.ledger import settings
from neo_twisted.ledger.settings import (
    ConfigError,
    UnknownKey,
    load_protocol,
    settings_from_json,
    unknown_keys,
)
from tests.support.cli_chain_helpers import run
from tests.support.ledger_samples import privnet_document
from tests.support.logs import appending_to

ROOT = Path(__file__).resolve().parents[2]


def neo_cli_2_12_mainnet() -> dict[str, Any]:
    """
    The keys of neo-cli v2.12.2's C{protocol.mainnet.json} (ours, plus the three that
    2.11 and 2.12 added), with their values there.
    """
    document: dict[str, Any] = json.loads(
        (ROOT / "protocol.mainnet.json").read_text(encoding="utf-8"))
    document["ProtocolConfiguration"].update(
        {"StateRootEnableIndex": 6016000, "FreeGasChangeHeight": 6195000,
         "MinimumNetworkFee": 0})
    return document


class UnknownKeyTests(SynchronousTestCase):
    def warnings(self, document: dict[str, Any]) -> tuple[Any, list[UnknownKey]]:
        found: list[UnknownKey] = []
        parsed = settings_from_json(document, "p.json", found.append)
        return parsed, found

    def test_misspelt_seed_list(self) -> None:
        """
        C{SeedLists}: the node has no seeds, and says why: the file, the key, and
        the key it resembles.
        """
        document = privnet_document()
        document["ProtocolConfiguration"]["SeedLists"] = (
            document["ProtocolConfiguration"].pop("SeedList"))
        parsed, [warning] = self.warnings(document)
        self.assertEqual(parsed.seed_list, ())
        self.assertEqual(warning, UnknownKey("p.json", "ProtocolConfiguration.SeedLists",
                                             "SeedList"))
        self.assertEqual(str(warning), "p.json: ProtocolConfiguration.SeedLists: unknown key, "
                                       "ignored (did you mean SeedList?)")

    def test_case(self) -> None:
        """
        .NET reads keys in any case; we do not, so C{seedList} is a warning naming
        C{SeedList}; a key like nothing known gets no suggestion.
        """
        document = privnet_document()
        document["ProtocolConfiguration"]["seedList"] = ["a.example:1"]
        document["ProtocolConfiguration"]["Colour"] = "blue"
        _, found = self.warnings(document)
        self.assertEqual([(w.key, w.suggestion) for w in found],
                         [("ProtocolConfiguration.seedList", "SeedList"),
                          ("ProtocolConfiguration.Colour", None)])

    def test_sections(self) -> None:
        """
        A misspelt section (its whole content ignored) is a warning too; the three
        sections we read are not.
        """
        document = privnet_document()
        document["Polcy"] = document.pop("Policy")
        document["ApplicationConfiguration"] = {}
        self.assertEqual(unknown_keys(document, "p.json"),
                         [UnknownKey("p.json", "Polcy", "Policy")])

    def test_known_but_unused(self) -> None:
        """
        neo-cli 2.12's state-root and NeoVM keys, and ours (C{AssumeValid},
        C{ValidatorCountFormula}), give no warning; neither do the bundled files.
        """
        document = neo_cli_2_12_mainnet()
        document["ProtocolConfiguration"]["AssumeValid"] = None
        document["ProtocolConfiguration"]["ValidatorCountFormula"] = "2.11"
        self.assertEqual(self.warnings(document)[1], [])
        for name in ("protocol.json", "protocol.mainnet.json", "protocol.testnet.json"):
            found: list[UnknownKey] = []
            load_protocol(ROOT / name, found.append)
            self.assertEqual(found, [], name)

    def test_logged_by_default(self) -> None:
        """
        Without a C{warn}, each unknown key is a warning in the log, with the file and
        the key as fields.
        """
        events: list[LogEvent] = []
        self.patch(settings, "_log", Logger(observer=appending_to(events)))
        document = privnet_document()
        document["ProtocolConfiguration"]["SeedLst"] = []
        path = Path(self.mktemp())
        path.write_text(json.dumps(document), encoding="utf-8")
        load_protocol(path)
        [event] = events
        self.assertEqual((event["log_level"].name, event["source"], event["key"]),
                         ("warn", str(path), "ProtocolConfiguration.SeedLst"))
        self.assertIn("did you mean SeedList?", formatEvent(event))

    def test_application_configuration_alone(self) -> None:
        """
        neo-cli's C{config.json} where a protocol file is expected: the error says
        what the file is.
        """
        error = self.assertRaises(ConfigError, settings_from_json,
                                  {"ApplicationConfiguration": {}}, "config.json")
        self.assertIn("config.json: ProtocolConfiguration: missing: this is neo-cli's "
                      "config.json", str(error))


class CommandLineWarningTests(SynchronousTestCase):
    """
    The C{neonode} commands print the warnings on standard error (they have no log).
    """

    def test_printed(self) -> None:
        document = privnet_document()
        document["ProtocolConfiguration"]["SeedLists"] = []
        path = Path(self.mktemp())
        path.write_text(json.dumps(document), encoding="utf-8")
        status, out, err = run("genesis", "--config", str(path))
        self.assertEqual(status, 0)
        self.assertEqual(json.loads(out)["index"], 0)
        self.assertEqual(err, f"neonode: warning: {path}: ProtocolConfiguration.SeedLists: "
                              "unknown key, ignored (did you mean SeedList?)\n")
