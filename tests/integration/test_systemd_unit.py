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
from neo_twisted.node.exits import EXIT_STORE_FAILED, EXIT_STORE_UNUSABLE

PACKAGING = Path(__file__).parents[2] / "packaging" / "systemd"
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
            raise self.skipTest("systemd-analyze is not installed")
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
        from twisted.scripts.twistd import ServerOptions  # type: ignore[attr-defined]
        line = unit_sections()["Service"]["ExecStart"]
        argv = shlex.split(line.replace("$NEONODE_OPTIONS", " ".join(environment_options())))
        self.assertEqual(argv[0], INSTALLED_TWISTD)
        split = argv.index("neonode")
        self.assertEqual(argv[1:split], ["--nodaemon", "--pidfile="])
        server = ServerOptions()
        server.parseOptions(argv[1:split])
        self.assertTrue(server["nodaemon"])
        self.assertEqual(server["pidfile"], "")
        options = tap.Options()
        options.parseOptions(argv[split + 1:])
        self.assertEqual(options["datadir"], Path("/var/lib/neonode"))
        self.assertEqual(options["settings"].magic, 7630401)  # mainnet, as the env file says
        # neo-cli's mainnet ports: P2P and RPC of one network
        self.assertEqual((options["port"], options["rpc-port"], options["metrics-port"]),
                         (10333, 10332, 9108))

    def test_validator_key_by_credential(self) -> None:
        """
        The commented validator lines work as documented: the credential names in
        LoadCredential= are the ones the options read from $CREDENTIALS_DIRECTORY.
        """
        text = UNIT.read_text()
        credentials = dict(line.lstrip("#").split("=", 1)[1].split(":", 1)
                           for line in text.splitlines() if line.startswith("#LoadCredential="))
        self.assertEqual(set(credentials), {"validator-key", "validator-key-password"})
        self.assertIn('"--validator-key credential:validator-key"', text)
        self.assertIn('"--validator-key-password credential:validator-key-password"', text)

    def test_permanent_failures_not_restarted(self) -> None:
        """
        A store that failed a write (74) or cannot be used (78) is not restarted, and
        a node that keeps failing otherwise stops being restarted after 5 starts.
        """
        sections = unit_sections()
        prevented = sections["Service"]["RestartPreventExitStatus"].split()
        self.assertEqual(set(prevented), {str(EXIT_STORE_FAILED),
                                          str(EXIT_STORE_UNUSABLE)})
        self.assertEqual((sections["Unit"]["StartLimitIntervalSec"],
                          sections["Unit"]["StartLimitBurst"]), ("600", "5"))

    def test_readme_installs_as_the_unit_says(self) -> None:
        """
        The install steps in the unit's comment are the README's, line for line.
        """
        steps = [line[len("#   "):] for line in UNIT.read_text().splitlines()
                 if line.startswith("#   ")]
        readme = (Path(__file__).parents[2] / "README.md").read_text()
        section = readme.split("### Running under systemd", 1)[1].split("\n### ", 1)[0]
        commands = " ".join(section.split())
        for step in steps:
            for part in step.split(" && "):
                self.assertIn(" ".join(part.split()), commands, part)

    def test_a_bad_option_would_be_caught(self) -> None:
        """
        The check above is a real one: the same parse refuses a mistyped option.
        """
        options = tap.Options()
        self.assertRaises(usage.UsageError, options.parseOptions,
                          ["--config", str(Path(__file__).parents[2] / "protocol.json"),
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
