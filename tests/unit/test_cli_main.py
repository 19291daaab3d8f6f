import subprocess
import sys

from dockyard import __version__
from dockyard.cli.main import main


def test_version_flag(capsys: object) -> None:
    assert main(["--version"]) == 0


def test_unknown_command_exits_125() -> None:
    r = subprocess.run([sys.executable, "-m", "dockyard", "frobnicate"], capture_output=True,
                       text=True)
    assert r.returncode == 125
    assert "'frobnicate' is not a dockyard command" in r.stderr
    assert "Traceback" not in r.stderr


def test_version_subprocess() -> None:
    r = subprocess.run([sys.executable, "-m", "dockyard", "--version"], capture_output=True,
                       text=True, check=True)
    assert r.stdout == f"dockyard version {__version__}\n"
