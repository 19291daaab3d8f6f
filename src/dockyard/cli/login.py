"""``dockyard login [OPTIONS] [SERVER]``."""

from __future__ import annotations

import getpass
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.main import Context

USAGE = """\
Usage:  dockyard login [OPTIONS] [SERVER]

Log in to a registry.
If no server is specified, the default is docker.io.

Options:
  -p, --password string   Password
      --password-stdin    Take the password from stdin
  -u, --username string   Username
"""


def _fail(msg: str) -> int:
    sys.stderr.write(f"{msg}\nSee 'dockyard login --help'.\n")
    return 125


def run(ctx: Context, argv: list[str]) -> int:
    username: str | None = None
    password: str | None = None
    from_stdin = False
    servers: list[str] = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-h", "--help"):
            sys.stdout.write(USAGE)
            return 0
        if arg == "--password-stdin":
            from_stdin = True
            continue
        name, eq, value = arg.partition("=")
        if name in ("-u", "--username", "-p", "--password"):
            if not eq:
                if not args:
                    return _fail(f"flag needs an argument: {name}")
                value = args.pop(0)
            if name in ("-u", "--username"):
                username = value
            else:
                password = value
        elif arg.startswith("-") and arg != "-":
            return _fail(f"unknown flag: {arg}")
        else:
            servers.append(arg)
    if len(servers) > 1:
        return _fail('"dockyard login" requires at most 1 argument.')
    if from_stdin:
        if password is not None:
            return _fail("--password and --password-stdin are mutually exclusive")
        if not username:
            return _fail("Must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\r\n")
    elif password is not None:
        sys.stderr.write("WARNING! Using --password via the CLI is insecure. "
                         "Use --password-stdin.\n")
    if username is None or password is None:
        if not sys.stdin.isatty():
            sys.stderr.write("Error: Cannot perform an interactive login from a non TTY device\n")
            return 125
        if username is None:
            username = input("Username: ").strip()
        if password is None:
            password = getpass.getpass("Password: ")

    from dockyard.registry.login import login

    login(servers[0] if servers else None, username, password)
    sys.stdout.write("Login Succeeded\n")
    return 0
