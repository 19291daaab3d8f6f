"""One handler per ``dockyard-runtime`` command: parse flags, call the runtime, print."""

from __future__ import annotations

import os
import sys

from dockyard.cli import _args
from dockyard.cli.runtime_main import CREATE_FLAGS
from dockyard.errors import DockyardError, InvalidArgument

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from dockyard.oci.runtime_types import Process
    from dockyard.runtime.launch import Spawned


def _one_id(f: _args.Flags, usage: str) -> str:
    if len(f.positional) != 1:
        raise InvalidArgument(f'"{usage}" requires exactly 1 argument(s)')
    return f.positional[0]


def _create_options(f: _args.Flags, spawned: Spawned | None) -> Any:
    from dockyard.runtime.create import CreateOptions

    return CreateOptions(pid_file=f.opt("pid-file"), console_socket=f.opt("console-socket"),
                         no_pivot=f.flag("no-pivot"), no_new_keyring=f.flag("no-new-keyring"),
                         preserve_fds=int(f.opt("preserve-fds") or 0), spawned=spawned)


def cmd_create(root: str, argv: list[str], spawned: Spawned | None = None) -> int:
    from dockyard.runtime.create import create

    f = _args.parse(argv, CREATE_FLAGS)
    cid = _one_id(f, "create")
    create(root, cid, f.opt("bundle") or ".", _create_options(f, spawned))
    return 0


def cmd_run(root: str, argv: list[str], spawned: Spawned | None = None) -> int:
    from dockyard.runtime.run import run

    f = _args.parse(argv, {**CREATE_FLAGS, "detach": "bool", "d": "=detach", "keep": "bool"})
    cid = _one_id(f, "run")
    opts = _create_options(f, spawned)
    from dockyard.oci.runtime_spec import load_spec

    bundle = f.opt("bundle") or "."
    if (load_spec(bundle)["process"].get("terminal") and opts.console_socket is None
            and not f.flag("detach")):
        from dockyard.runtime.console import run_with_terminal

        return run_with_terminal(root, cid, bundle, opts)
    return run(root, cid, bundle, opts, detach=f.flag("detach"), keep=f.flag("keep"))


def cmd_start(root: str, argv: list[str]) -> int:
    from dockyard.runtime.start import start

    start(root, _one_id(_args.parse(argv, {}), "start"))
    return 0


def cmd_state(root: str, argv: list[str]) -> int:
    import json

    from dockyard.runtime.state import Container

    c = Container.load(root, _one_id(_args.parse(argv, {}), "state"))
    sys.stdout.write(json.dumps(c.oci_state(), indent=2) + "\n")
    return 0


def cmd_kill(root: str, argv: list[str]) -> int:
    from dockyard.runtime.kill import kill
    from dockyard.runtime.signals import parse_signal

    f = _args.parse(argv, {"all": "bool", "a": "=all"})
    if not 1 <= len(f.positional) <= 2:
        raise InvalidArgument('"kill" requires a minimum of 1 and maximum of 2 arguments')
    sig = parse_signal(f.positional[1] if len(f.positional) > 1 else "SIGTERM")
    kill(root, f.positional[0], sig, all_processes=f.flag("all"))
    return 0


def cmd_delete(root: str, argv: list[str]) -> int:
    from dockyard.runtime.delete import delete

    f = _args.parse(argv, {"force": "bool", "f": "=force"})
    if not f.positional:
        raise InvalidArgument('"delete" requires a minimum of 1 argument')
    for cid in f.positional:
        delete(root, cid, force=f.flag("force"))
    return 0


EXEC_FLAGS = {"console-socket": "str", "cwd": "str", "env": "list", "e": "=env",
              "tty": "bool", "t": "=tty", "user": "str", "u": "=user",
              "additional-gids": "list", "g": "=additional-gids", "process": "str",
              "p": "=process", "detach": "bool", "d": "=detach", "pid-file": "str",
              "process-label": "str", "apparmor": "str", "no-new-privs": "bool",
              "cap": "list", "c": "=cap", "preserve-fds": "str", "cgroup": "list",
              "ignore-paused": "bool"}


def cmd_exec(root: str, argv: list[str]) -> int:
    import json

    from dockyard.runtime.exec import ExecFailed, exec_process, merge_process
    from dockyard.runtime.state import Container

    f = _args.parse(argv, EXEC_FLAGS, stop_at_positional=True)
    if not f.positional:
        raise InvalidArgument('"exec" requires a minimum of 1 argument')
    cid, args = f.positional[0], f.positional[1:]
    process: Process
    if f.opt("process"):
        try:
            with open(str(f.opt("process")), "rb") as fh:
                process = json.loads(fh.read())
        except (OSError, ValueError) as e:
            raise InvalidArgument(f"process spec {f.opt('process')}: {e}") from None
        process.setdefault("user", {"uid": 0, "gid": 0})
        process.setdefault("cwd", "/")
    else:
        if not args:
            raise InvalidArgument("exec: no command given: args must not be empty")
        uid = gid = None
        if f.opt("user"):
            u, _, g = str(f.opt("user")).partition(":")
            uid, gid = int(u), int(g) if g else 0
        base = Container.load(root, cid).spec["process"]
        process = merge_process(base, args=args, env=f.many("env"), cwd=f.opt("cwd"),
                                uid=uid, gid=gid,
                                additional_gids=[int(g) for g in f.many("additional-gids")],
                                tty=f.flag("tty"), caps=f.many("cap"),
                                no_new_privs=f.flag("no-new-privs"))
    console_fd = -1
    if process.get("terminal"):
        if not f.opt("console-socket"):
            if f.flag("detach"):
                raise InvalidArgument("cannot allocate tty if runc will detach without "
                                      "setting console socket")
            from dockyard.runtime.console import exec_with_terminal

            return exec_with_terminal(root, cid, process)
        from dockyard.runtime.create import _connect_console

        console_fd = _connect_console(str(f.opt("console-socket")))
    try:
        _, code = exec_process(root, cid, process, detach=f.flag("detach"),
                               pid_file=f.opt("pid-file"), console_fd=console_fd,
                               preserve_fds=int(f.opt("preserve-fds") or 0))
    except ExecFailed as e:
        err = DockyardError(f"exec failed: unable to start container process: {e}")
        err.exit_status = 255  # type: ignore[attr-defined]
        raise err from None
    return code


def cmd_ps(root: str, argv: list[str]) -> int:
    import json

    from dockyard.runtime.state import Container

    f = _args.parse(argv, {"format": "str", "f": "=format"}, stop_at_positional=True)
    if not f.positional:
        raise InvalidArgument('"ps" requires a minimum of 1 argument')
    c = Container.load(root, f.positional[0])
    pids = c.cgroup().pids()
    if (f.opt("format") or "table") == "json":
        sys.stdout.write(json.dumps(sorted(pids)) + "\n")
        return 0
    import subprocess  # the host's ps(1) makes the table, as runc does

    ps_args = f.positional[1:] or ["-ef"]
    out = subprocess.run(["ps", *ps_args], capture_output=True, text=True, check=False)
    lines = out.stdout.splitlines()
    if not lines:
        raise DockyardError(f"ps: {out.stderr.strip()}")
    header = lines[0].split()
    if "PID" not in header:
        raise DockyardError("couldn't find PID field in ps output")
    col = header.index("PID")
    wanted = {str(p) for p in pids}
    sys.stdout.write(lines[0] + "\n")
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > col and fields[col] in wanted:
            sys.stdout.write(line + "\n")
    return 0


def cmd_list(root: str, argv: list[str]) -> int:
    import json

    from dockyard.runtime.state import Container, list_ids

    f = _args.parse(argv, {"format": "str", "f": "=format", "quiet": "bool", "q": "=quiet"})
    states = []
    for cid in list_ids(root):
        try:
            states.append(Container.load(root, cid).oci_state())
        except DockyardError:
            continue
    if f.flag("quiet"):
        sys.stdout.write("".join(s["id"] + "\n" for s in states))
    elif (f.opt("format") or "table") == "json":
        sys.stdout.write(json.dumps(states or None) + "\n")
    else:
        rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        rows += [(s["id"], str(s["pid"]), s["status"], s["bundle"], s["created"], "root")
                 for s in states]
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        for r in rows:
            sys.stdout.write("".join(v.ljust(max(w, 10) + 2) for v, w in zip(r, widths,
                                                                             strict=True))
                             .rstrip() + "\n")
    return 0


def _pause(root: str, argv: list[str], freeze: bool) -> int:
    from dockyard.runtime.pause import pause, resume

    cid = _one_id(_args.parse(argv, {}), "pause" if freeze else "resume")
    pause(root, cid) if freeze else resume(root, cid)
    return 0


def cmd_pause(root: str, argv: list[str]) -> int:
    return _pause(root, argv, True)


def cmd_resume(root: str, argv: list[str]) -> int:
    return _pause(root, argv, False)


_UPDATE_FLAGS = {"resources": "str", "r": "=resources", "memory": "str",
                 "memory-swap": "str", "memory-reservation": "str", "cpu-shares": "str",
                 "cpu-quota": "str", "cpu-period": "str", "cpuset-cpus": "str",
                 "cpuset-mems": "str", "pids-limit": "str"}


def cmd_update(root: str, argv: list[str]) -> int:
    """runc's ``update [--resources FILE|-] [--memory N ...] ID``."""
    import json

    from dockyard.runtime.update import update

    f = _args.parse(argv, _UPDATE_FLAGS)
    cid = _one_id(f, "update")
    res: Any = {}
    path = f.opt("resources")
    if path:
        try:
            text = sys.stdin.read() if path == "-" else open(path).read()  # noqa: SIM115
            res = json.loads(text)
        except (OSError, ValueError) as e:
            raise InvalidArgument(f"unable to read resources: {e}") from None
        if not isinstance(res, dict):
            raise InvalidArgument("unable to read resources: not a JSON object")

    def num(flag: str) -> int | None:
        v = f.opt(flag)
        if v is None:
            return None
        try:
            return int(v)
        except ValueError:
            raise InvalidArgument(f"invalid value for {flag}: {v}") from None

    for flag, section, key in (("memory", "memory", "limit"), ("memory-swap", "memory", "swap"),
                               ("memory-reservation", "memory", "reservation"),
                               ("cpu-shares", "cpu", "shares"), ("cpu-quota", "cpu", "quota"),
                               ("cpu-period", "cpu", "period"), ("pids-limit", "pids", "limit")):
        value = num(flag)
        if value is not None:
            res.setdefault(section, {})[key] = value
    for flag, key in (("cpuset-cpus", "cpus"), ("cpuset-mems", "mems")):
        if f.opt(flag) is not None:
            res.setdefault("cpu", {})[key] = f.opt(flag)
    update(root, cid, res)
    return 0


def cmd_spec(root: str, argv: list[str]) -> int:
    import json

    from dockyard.runtime.spec import example_spec

    f = _args.parse(argv, {"bundle": "str", "b": "=bundle", "rootless": "bool"})
    path = os.path.join(f.opt("bundle") or ".", "config.json")
    if os.path.exists(path):
        raise DockyardError("File config.json exists. Remove it first")
    with open(path, "w") as fh:
        json.dump(example_spec(f.flag("rootless")), fh, indent="\t")
    return 0


def cmd_features(root: str, argv: list[str]) -> int:
    import json

    from dockyard.runtime.features import features

    sys.stdout.write(json.dumps(features(), indent=4) + "\n")
    return 0


COMMANDS: dict[str, Callable[[str, list[str]], int]] = {
    "create": cmd_create, "run": cmd_run, "start": cmd_start, "state": cmd_state,
    "kill": cmd_kill, "delete": cmd_delete, "exec": cmd_exec, "ps": cmd_ps,
    "list": cmd_list, "pause": cmd_pause, "resume": cmd_resume, "spec": cmd_spec,
    "features": cmd_features, "update": cmd_update,
}

#: The commands that take a stage 1 forked before the runtime's imports (runtime_main).
EARLY: dict[str, Callable[[str, list[str], Spawned | None], int]] = {
    "create": cmd_create, "run": cmd_run}
