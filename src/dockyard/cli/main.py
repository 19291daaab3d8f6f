"""``dockyard``: the user's command line.

Start-up is a hot path (``dockyard --version`` within 20 ms): this module imports nothing
heavy; each verb lives in its own module, imported only when that verb runs. A verb
module exposes ``run(ctx: Context, argv: list[str]) -> int``.
"""

from __future__ import annotations

import os
import sys

from dockyard import __version__

#: verb -> module under dockyard.cli that implements it. Docker's two-word forms
#: ("image ls", "container ls") are listed as "image", "container" and dispatched there.
COMMANDS: dict[str, tuple[str, str]] = {
    "login": ("login", "Log in to a registry"),
    "logout": ("logout", "Log out from a registry"),
    "version": ("version", "Show the dockyard version information"),
    "run": ("run", "Create and run a new container from an image"),
    "create": ("create", "Create a new container"),
    "start": ("start", "Start one or more stopped containers"),
    "stop": ("stop", "Stop one or more running containers"),
    "restart": ("restart", "Restart one or more containers"),
    "kill": ("kill", "Kill one or more running containers"),
    "pause": ("pause", "Pause all processes within one or more containers"),
    "unpause": ("unpause", "Unpause all processes within one or more containers"),
    "wait": ("wait", "Block until one or more containers stop, then print their exit codes"),
    "rename": ("rename", "Rename a container"),
    "update": ("update", "Update configuration of one or more containers"),
    "top": ("top", "Display the running processes of a container"),
    "exec": ("exec", "Run a command in a running container"),
    "cp": ("cp", "Copy files/folders between a container and the local filesystem"),
    "diff": ("diff", "Inspect changes to files or directories on a container's filesystem"),
    "commit": ("commit", "Create a new image from a container's changes"),
    "export": ("export", "Export a container's filesystem as a tar archive"),
    "stats": ("stats", "Display a live stream of container(s) resource usage statistics"),
    "events": ("events", "Get real time events from the server"),
    "attach": ("attach", "Attach local standard input, output, and error streams to a "
               "running container"),
    "container": ("container", "Manage containers"),
    "ps": ("ps", "List containers"),
    "inspect": ("inspect", "Return low-level information on Docker objects"),
    "info": ("info", "Display system-wide information"),
    "rm": ("rm", "Remove one or more containers"),
    "logs": ("logs", "Fetch the logs of a container"),
    "network": ("network", "Manage networks"),
    "port": ("port", "List port mappings or a specific mapping for the container"),
    "image": ("image", "Manage images"),
    "images": ("images", "List images"),
    "import": ("import_", "Import the contents from a tarball to create a filesystem image"),
    "tag": ("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
    "rmi": ("rmi", "Remove one or more images"),
    "history": ("history", "Show the history of an image"),
    "build": ("build", "Build an image from a Dockerfile"),
    "save": ("save", "Save one or more images to a tar archive"),
    "load": ("load", "Load an image from a tar archive or STDIN"),
    "pull": ("pull", "Download an image from a registry"),
    "push": ("push", "Upload an image to a registry"),
    "system": ("system", "Manage dockyard (check, prune)"),
    "volume": ("volume", "Manage volumes"),
}

USAGE_HEAD = """\
Usage:  dockyard [OPTIONS] COMMAND

A container engine in Python: Linux namespaces, cgroups and OCI images, the Docker workflow.

Options:
      --root string       Root of dockyard's state (default $DOCKYARD_ROOT or /var/lib/dockyard)
      --exec-root string  Root of runtime state (default $DOCKYARD_EXEC_ROOT or /run/dockyard)
  -D, --debug             Show tracebacks of internal errors
  -v, --version           Print version information and quit
  -h, --help              Print usage

Commands:
"""


class Context:
    """Global options every verb sees."""

    def __init__(self, root: str, exec_root: str, debug: bool) -> None:
        self.root = root
        self.exec_root = exec_root
        self.debug = debug


def usage() -> str:
    lines = [f"  {name:<11} {help_}" for name, (_, help_) in sorted(COMMANDS.items())]
    return USAGE_HEAD + "\n".join(lines) + (
        "\n\nRun 'dockyard COMMAND --help' for more information on a command.\n")


def entry() -> None:
    """The ``dockyard`` command: :func:`main`, then a quick exit.

    Tearing the interpreter down after the engine's imports (module dicts, the import
    system) costs 15-35 ms, longer than some verbs' work. Nothing is left for it to do:
    every verb closes its database and files and joins its threads before it returns, so
    after flushing stdout and stderr the process ends at once. An exception (``--debug``)
    takes the normal way out, with its traceback.

    The cyclic GC runs rarely: at its default threshold (700 allocations) it ran ~30 times
    during ``run``'s imports (~5 ms) and found nothing to free; a verb allocates fewer than
    50,000 objects. Long-running verbs (``run`` in the foreground, ``logs -f``) still
    collect, every 100,000 allocations.
    """
    import gc

    gc.set_threshold(100_000, 20, 20)
    try:
        code = main()
    except SystemExit as e:
        if e.code is not None and not isinstance(e.code, int):
            raise
        code = e.code or 0
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:  # None: the fd was closed when Python started
                stream.flush()
        except (BrokenPipeError, ValueError):
            code = code or 1
    os._exit(code)


def open_stdio() -> None:
    """/dev/null on any of fds 0-2 the caller left closed: otherwise the next file the
    engine opens (its database...) would take that number, and a container started with
    our stdio would write into it."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


def main(argv: list[str] | None = None) -> int:
    open_stdio()
    args = sys.argv[1:] if argv is None else list(argv)
    root = os.environ.get("DOCKYARD_ROOT") or "/var/lib/dockyard"
    exec_root = os.environ.get("DOCKYARD_EXEC_ROOT") or "/run/dockyard"
    debug = False
    while args and args[0].startswith("-"):
        opt = args.pop(0)
        if opt in ("-v", "--version"):
            sys.stdout.write(f"dockyard version {__version__}\n")
            return 0
        if opt in ("-h", "--help"):
            sys.stdout.write(usage())
            return 0
        if opt in ("-D", "--debug"):
            debug = True
        elif opt.split("=", 1)[0] in ("--root", "--exec-root"):
            name, eq, value = opt.partition("=")
            if not eq:
                if not args:
                    sys.stderr.write(f"dockyard: flag needs an argument: {name}\n")
                    return 125
                value = args.pop(0)
            if name == "--root":
                root = value
            else:
                exec_root = value
        else:
            sys.stderr.write(f"unknown flag: {opt}\nSee 'dockyard --help'.\n")
            return 125
    if not args:
        sys.stdout.write(usage())
        return 0
    verb = args.pop(0)
    if verb == "help":
        sys.stdout.write(usage())
        return 0
    entry = COMMANDS.get(verb)
    if entry is None:
        sys.stderr.write(f"dockyard: '{verb}' is not a dockyard command.\n"
                         "See 'dockyard --help'\n")
        return 125
    ctx = Context(os.path.abspath(root), os.path.abspath(exec_root), debug)
    from dockyard.cli._run import run_verb

    return run_verb(entry[0], ctx, args)
