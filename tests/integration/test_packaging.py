"""
The installed package, not the source tree: a plain C{pip install} into a fresh
virtual environment gives a C{twistd} that lists the C{neonode} plugin.

The plugin lives in C{twisted/plugins/}, a namespace package that setup.cfg must
list explicitly; from the source tree twistd finds it through C{PYTHONPATH}, so
only an installation shows whether it is shipped. The test copies the files a
build needs to a temporary directory (so that no C{build/} or C{*.egg-info} is
left in the repository), installs with the dependencies from the configured
package index (about 15 s), and runs twistd outside the repository with no
C{PYTHONPATH}.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

REPOSITORY = Path(__file__).parents[2]
#: What a build of the package reads (the rest of the tree is not copied).
BUILD_INPUTS = ("pyproject.toml", "setup.cfg", "setup.py", "MANIFEST.in", "README.md",
                "LICENSE", "neo_twisted", "twisted")
INSTALL_TIMEOUT = 600.0
RUN_TIMEOUT = 120.0


def clean_environment() -> dict[str, str]:
    """
    This process's environment without anything pointing Python at the source tree
    or at another virtual environment (pip's own settings stay).
    """
    drop = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV",
            "PIP_USER", "PIP_TARGET", "PIP_PREFIX", "PIP_EDITABLE"}
    return {name: value for name, value in os.environ.items() if name not in drop}


class InstalledPluginTests(SynchronousTestCase):
    """
    The wheel built from setup.cfg ships the twistd plugin.
    """

    def setUp(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="neo-packaging-"))
        self.addCleanup(shutil.rmtree, self.base, ignore_errors=True)
        self.env = clean_environment()

    def run_checked(self, argv: list[str], timeout: float) -> str:
        """
        Run C{argv} in the temporary directory; fail the test with its output if it fails.
        """
        done = subprocess.run(argv, cwd=self.base, env=self.env, capture_output=True,
                              text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            self.fail(f"{argv} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def copy_source(self) -> Path:
        source = self.base / "source"
        source.mkdir()
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "dropin.cache", "*.egg-info")
        for name in BUILD_INPUTS:
            path = REPOSITORY / name
            if path.is_dir():
                shutil.copytree(path, source / name, ignore=ignore)
            elif path.exists():
                shutil.copy2(path, source / name)
        return source

    def test_twistd_lists_neonode(self) -> None:
        """
        After C{pip install .} into a fresh venv, C{twistd --help} lists C{neonode},
        C{twistd neonode --help} shows the node's options, and the package imported
        is the installed one, with its C{py.typed} (PEP 561: its annotations count).
        """
        source = self.copy_source()
        venv = self.base / "venv"
        self.run_checked([sys.executable, "-m", "venv", str(venv)], RUN_TIMEOUT)
        python, twistd = venv / "bin" / "python", venv / "bin" / "twistd"
        self.run_checked([str(python), "-m", "pip", "install", "--quiet",
                          "--disable-pip-version-check", str(source)], INSTALL_TIMEOUT)

        self.assertIn("neonode", self.run_checked([str(twistd), "--help"], RUN_TIMEOUT))
        usage = self.run_checked([str(twistd), "neonode", "--help"], RUN_TIMEOUT)
        self.assertIn("--seed", usage)
        self.assertIn("--max-per-address", usage)
        location = self.run_checked(
            [str(python), "-c", "import neo_twisted; print(neo_twisted.__file__)"],
            RUN_TIMEOUT)
        self.assertTrue(Path(location.strip()).is_relative_to(venv), location)
        self.assertTrue((Path(location.strip()).parent / "py.typed").is_file())
