"""``dockyard-runtime``: the OCI runtime, with runc's command line.

containerd's runc shim drives it exactly like runc: ``--root``, ``--log``,
``--log-format json``, then ``create --bundle --pid-file [--console-socket]``, ``start``,
``state``, ``kill``, ``delete``, ``exec --process --detach --pid-file``, ``ps --format json``.
Errors: one line on stderr (and in ``--log``), exit status 1 (255 when exec fails).
"""

from __future__ import annotations

import os
import sys

from dockyard import __version__
from dockyard.errors import DockyardError

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.launch import Spawned

GLOBAL_FLAGS = {"root": "str", "log": "str", "log-format": "str", "debug": "bool",
                "systemd-cgroup": "bool", "criu": "str", "rootless": "str",
                "help": "bool", "h": "=help", "version": "bool", "v": "=version"}
CREATE_FLAGS = {"bundle": "str", "b": "=bundle", "console-socket": "str", "pid-file": "str",
                "no-pivot": "bool", "no-new-keyring": "bool", "preserve-fds": "str",
                "help": "bool", "h": "=help"}

USAGE = """\
NAME:
   dockyard-runtime - Open Container Initiative runtime (runc's command line, in Python)

USAGE:
   dockyard-runtime [global options] command [command options] [arguments...]

COMMANDS:
   create    create a container
   start     executes the user defined process in a created container
   run       create and run a container
   state     output the state of a container
   kill      kill sends the specified signal (default: SIGTERM) to the container's init process
   delete    delete any resources held by the container often used with detached container
   exec      execute new process inside the container
   ps        ps displays the processes running inside a container
   list      lists containers started by runc with the given root
   pause     pause suspends all processes inside the container
   resume    resumes all processes that have been previously paused
   update    update container resource constraints
   spec      create a new specification file
   features  show the enabled features

GLOBAL OPTIONS:
   --root value        root directory for storage of container state
                       (default: $DOCKYARD_RUNTIME_ROOT or /run/dockyard-runtime)
   --log value         set the log file to write runtime logs to (default: stderr)
   --log-format value  set the log format ('text' (default), or 'json')
   --debug             enable debug logging
   --systemd-cgroup    use systemd cgroup driver (not supported: an error)
   --help, -h          show help
   --version, -v       print the version
"""


class _Log:
    """runc's error reporting: logrus text on stderr, or the --log file (+ plain stderr)."""

    def __init__(self, path: str | None, fmt: str) -> None:
        self.path = path
        self.fmt = fmt

    def error(self, text: str) -> None:
        import time

        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if self.path:
            import json

            line = (json.dumps({"level": "error", "msg": text, "time": now})
                    if self.fmt == "json" else
                    f'time="{now}" level=error msg={json.dumps(text)}')
            try:
                with open(self.path, "a") as f:
                    f.write(line + "\n")
            except OSError:
                pass
            sys.stderr.write(text + "\n")
        else:
            escaped = text.replace("\\", "\\\\").replace('"', '\\"')
            sys.stderr.write(f'time="{now}" level=error msg="{escaped}"\n')


def main(argv: list[str] | None = None) -> int:
    code = _main(argv)
    if argv is None:
        # As a command: flush and leave without the interpreter's teardown (runc exits
        # straight away too); nothing of ours needs finalizers.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _main(argv: list[str] | None) -> int:
    from dockyard.cli import _args
    from dockyard.cli.main import open_stdio

    open_stdio()

    args = sys.argv[1:] if argv is None else list(argv)
    log = _Log(None, "text")
    spawned: Spawned | None = None
    try:
        g = _args.parse(args, GLOBAL_FLAGS, stop_at_positional=True)
        log = _Log(g.opt("log"), g.opt("log-format") or "text")
        if g.flag("version"):
            sys.stdout.write(f"dockyard-runtime version {__version__}\nspec: 1.0.2-dev\n")
            return 0
        if g.flag("help") or not g.positional:
            sys.stdout.write(USAGE)
            return 0
        if g.flag("debug"):
            os.environ["DOCKYARD_RUNTIME_DEBUG"] = "1"
        if g.flag("systemd-cgroup"):
            raise DockyardError("systemd cgroup driver is not supported: "
                                "use the cgroupfs driver (drop --systemd-cgroup)")
        root = g.opt("root") or os.environ.get("DOCKYARD_RUNTIME_ROOT") \
            or "/run/dockyard-runtime"
        command, rest = g.positional[0], g.positional[1:]
        if command in ("create", "run", "exec"):
            from dockyard.runtime.cgroups import prime_migration

            prime_migration()  # the kernel's cgroup wait overlaps what follows
        if command in ("create", "run"):
            # Then stage 1: its interpreter starts while we import the runtime and load
            # the bundle (it waits for GO, or exits if we leave without one).
            from dockyard.runtime.launch import spawn

            spawned = spawn()
        from dockyard.cli import runtime_commands

        if spawned is not None:
            return runtime_commands.EARLY[command](os.path.abspath(root), rest, spawned)
        handler = runtime_commands.COMMANDS.get(command)
        if handler is None:
            raise DockyardError(f"No help topic for '{command}'")
        return handler(os.path.abspath(root), rest)
    except DockyardError as e:
        log.error(str(e))
        return getattr(e, "exit_status", 1)
    except OSError as e:
        log.error(str(e))
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if spawned is not None:
            spawned.abort()  # a no-op once the create used it

