"""
The systemd unit in C{packaging/systemd/}: it verifies with C{systemd-analyze}
(where the tool exists), its C{ExecStart} is a command line twistd and the
C{neonode} plugin accept, and it keeps the hardening and the clean stop.
"""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.node import tap

PACKAGING = Path(__file__).parents[1] / "packaging" / "systemd"
UNIT = PACKAGING / "neonode.service"
INSTALLED_TWISTD = "/opt/neo_twisted/bin/twistd"


def unit_sections() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string(UNIT.read_text())
    return parser


def environment_options() -> list[str]:
    """
    C{NEONODE_OPTIONS} from the example environment file, split as systemd splits it.
    """
    for line in (PACKAGING / "neonode.env").read_text().splitlines():
        if line.startswith("NEONODE_OPTIONS="):
            return line.split("=", 1)[1].split()
    raise AssertionError("neonode.env sets no NEONODE_OPTIONS")


class UnitTests(SynchronousTestCase):
    def test_systemd_analyze_verify(self) -> None:
        """
        C{systemd-analyze verify} passes, with no warning about the unit (unknown keys
        are only warnings), once the twistd path points at one that exists here.
        """
        tool = shutil.which("systemd-analyze")
        if tool is None:
            raise self.skipTest("systemd-analyze is not installed")  # type: ignore[misc]
        directory = Path(self.mktemp())
        directory.mkdir()
        unit = directory / "neonode.service"
        twistd = Path(sys.executable).with_name("twistd")
        unit.write_text(UNIT.read_text().replace(INSTALLED_TWISTD, str(twistd)))
        done = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True,
                              timeout=60, check=False)
        ours = [line for line in (done.stdout + done.stderr).splitlines()
                if "neonode.service" in line]
        self.assertEqual((done.returncode, ours), (0, []))

    def test_exec_start_parses(self) -> None:
        """
        The command line, with the example options, is valid for twistd and for
        C{twistd neonode} (the config path swapped for the bundled file).
        """
        from twisted.scripts.twistd import ServerOptions
        line = unit_sections()["Service"]["ExecStart"]
        argv = shlex.split(line.replace("$NEONODE_OPTIONS", " ".join(environment_options())))
        self.assertEqual(argv[0], INSTALLED_TWISTD)
        split = argv.index("neonode")
        self.assertEqual(argv[1:split], ["--nodaemon", "--pidfile="])
        server = ServerOptions()
        server.parseOptions(argv[1:split])
        self.assertTrue(server["nodaemon"])
        self.assertEqual(server["pidfile"], "")
        node_args = argv[split + 1:]
        node_args[node_args.index("--config") + 1] = str(
            Path(__file__).parents[1] / "protocol.json")
        options = tap.Options()
        options.parseOptions(node_args)
        self.assertEqual(options["datadir"], Path("/var/lib/neonode"))
        self.assertEqual((options["rpc-port"], options["metrics-port"]), (10332, 9108))

    def test_a_bad_option_would_be_caught(self) -> None:
        """
        The check above is a real one: the same parse refuses a mistyped option.
        """
        options = tap.Options()
        self.assertRaises(usage.UsageError, options.parseOptions,
                          ["--config", str(Path(__file__).parents[1] / "protocol.json"),
                           "--rpc-prot", "10332"])

    def test_service_settings(self) -> None:
        """
        An unprivileged user, restart on failure, a state directory, SIGTERM with a
        timeout, and the usual hardening.
        """
        service = unit_sections()["Service"]
        expected = {
            "User": "neonode", "Restart": "on-failure", "StateDirectory": "neonode",
            "KillSignal": "SIGTERM", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
            "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
            "EnvironmentFile": "-/etc/neonode/neonode.env",
        }
        self.assertEqual({key: service.get(key) for key in expected}, expected)
        self.assertLessEqual(int(service["TimeoutStopSec"]), 300)
        self.assertIn("u neonode", (PACKAGING / "neonode.sysusers").read_text())
