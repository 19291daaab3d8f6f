"""Terminals and streams as a user sees them: ``run -i/-t/-a``, ``attach``, ``start -a
-i``, detach keys; the ``-t`` cases drive the CLI on a pseudo-terminal."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Dy
from tests.integration.lifecycle_helpers import record, wait_for
from tests.integration.pty_session import PtySession, dockyard_argv

pytestmark = pytest.mark.integration

Term = Callable[..., PtySession]


@pytest.fixture
def term(root: Path, tmp_path: Path, cli: Dy) -> Iterator[Term]:
    """``term("run", "-it", ...)``: the CLI on a new pty (the ``cli`` fixture's roots;
    its teardown removes the containers after the sessions are closed)."""
    sessions: list[PtySession] = []

    def start(*args: str, rows: int = 24, cols: int = 80) -> PtySession:
        s = PtySession(dockyard_argv(root, tmp_path / "exec", *args), rows, cols)
        sessions.append(s)
        return s

    try:
        yield start
    finally:
        for s in sessions:
            s.close()


def _prompt(s: PtySession) -> None:
    """Wait for busybox sh's prompt: what is typed before it may be read as the answer
    to its cursor position query."""
    s.expect(r"# ")


def _wake(s: PtySession) -> None:
    """Attached to a shell that is waiting: as a user does, press Enter for a prompt
    (Docker does not replay the screen; the shell's last cursor query went unanswered)."""
    for _ in range(3):
        s.send("\r")
        try:
            s.expect(r"# ", timeout=3)
            return
        except AssertionError:
            continue  # the Enter answered the query
    _prompt(s)


def _name(tag: str) -> str:
    return f"stdio-{tag}-{os.getpid()}"


# --- run -it ----------------------------------------------------------------------------

def test_run_it_shell_session(cli: Dy, busybox: str, term: Term) -> None:
    s = term("run", "--rm", "-it", "busybox", "sh", rows=30, cols=100)
    _prompt(s)
    s.send("echo $((6*7))\r")
    s.expect(r"\n42\r\n")
    _prompt(s)
    s.send("stty size\r")
    s.expect(r"\n30 100\r\n")
    _prompt(s)
    s.resize(40, 120)
    s.send("stty size\r")
    s.expect(r"\n40 120\r\n")
    _prompt(s)
    s.send("tty; echo $TERM\r")
    s.expect(r"/dev/pts/\d+\r\nxterm\r\n")
    _prompt(s)
    s.send("exit 3\r")
    assert s.wait() == 3
    assert cli("ps", "-aq").stdout == ""  # --rm


def test_run_it_ctrl_c_reaches_the_container(busybox: str, term: Term) -> None:
    s = term("run", "--rm", "-it", "busybox", "sh", "-c",
             "trap 'echo got-int; exit 7' INT; echo ready; while :; do sleep 1; done")
    s.expect("ready")
    s.send(b"\x03")
    s.expect("got-int")
    assert s.wait() == 7


def test_run_it_ctrl_c_stops_sleep(cli: Dy, busybox: str, term: Term) -> None:
    name = _name("ctrlc")
    s = term("run", "--rm", "-it", "--name", name, "busybox", "sh")
    _prompt(s)
    s.send("sleep 100\r")
    wait_for(lambda: cli("exec", name, "pidof", "sleep").returncode == 0)
    s.send(b"\x03")
    _prompt(s)
    s.send("echo status=$?\r")
    s.expect(r"\nstatus=130\r\n")
    s.send("exit 0\r")
    assert s.wait() == 0


def test_run_i_proxies_signals(cli: Dy, busybox: str, root: Path, tmp_path: Path) -> None:
    import signal
    import subprocess

    from tests.integration.pty_session import dockyard_argv

    p = subprocess.Popen(dockyard_argv(root, tmp_path / "exec", "run", "--rm", "-i",
                                       "busybox", "sh", "-c",
                                       "trap 'echo got-term; exit 9' TERM; echo ready; "
                                       "while :; do sleep 0.1; done"),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert p.stdout is not None
        assert p.stdout.readline() == b"ready\n"
        p.send_signal(signal.SIGTERM)
        assert p.wait(30) == 9
        assert p.stdout.read() == b"got-term\n"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_run_it_size_is_set_before_the_command_runs(busybox: str, term: Term) -> None:
    s = term("run", "--rm", "-it", "busybox", "stty", "size", rows=31, cols=101)
    s.expect(r"31 101\r\n")
    assert s.wait() == 0


def test_run_t_without_i_prints_on_a_terminal(busybox: str, term: Term) -> None:
    s = term("run", "--rm", "-t", "busybox", "sh", "-c", "tty; exit 5")
    s.expect(r"/dev/pts/\d+")
    assert s.wait() == 5


def _status(root: Path, name: str) -> str:
    return record(root, name).status.value


def test_run_it_detach_keys_leave_it_running(cli: Dy, busybox: str, term: Term,
                                             root: Path) -> None:
    name = _name("detach")
    s = term("run", "-it", "--name", name, "busybox", "sh")
    _prompt(s)
    s.send("echo $((2+3))\r")
    s.expect(r"\n5\r\n")
    s.send(b"\x10\x11")
    assert s.wait() == 0
    assert _status(root, name) == "running"
    a = term("attach", name)
    _wake(a)
    a.send("echo again-$((3*3))\r")
    a.expect("again-9")
    a.send("exit 4\r")
    assert a.wait() == 4
    wait_for(lambda: _status(root, name) == "exited")
    assert record(root, name).exit_code == 4


def test_run_it_custom_detach_keys(cli: Dy, busybox: str, term: Term, root: Path) -> None:
    name = _name("keys")
    s = term("run", "-it", "--detach-keys", "ctrl-a,x", "--name", name, "busybox", "sh")
    _prompt(s)
    s.send("echo up\r")
    s.expect(r"\nup\r\n")
    s.send(b"\x01x")
    assert s.wait() == 0
    assert _status(root, name) == "running"


def test_run_it_without_a_terminal(cli: Dy, busybox: str) -> None:
    r = cli("run", "--rm", "-it", "busybox", "true", input="x")
    assert r.returncode == 1
    assert r.stderr == "the input device is not a TTY\n"


# --- run -i, -a -------------------------------------------------------------------------

def test_run_i_pipes_stdin(cli: Dy, busybox: str) -> None:
    r = cli("run", "--rm", "-i", "busybox", "sh", "-c", "cat; echo done; exit 6",
            input="hi\nthere\n")
    assert (r.returncode, r.stdout) == (6, "hi\nthere\ndone\n")


def test_run_without_i_has_empty_stdin(cli: Dy, busybox: str) -> None:
    r = cli("run", "--rm", "busybox", "sh", "-c", "cat; echo end", input="secret\n")
    assert (r.returncode, r.stdout) == (0, "end\n")


def test_run_a_picks_streams(cli: Dy, busybox: str) -> None:
    cmd = ["sh", "-c", "echo out; echo err >&2; exit 2"]
    r = cli("run", "--rm", "-a", "stderr", "busybox", *cmd)
    assert (r.returncode, r.stdout, r.stderr) == (2, "", "err\n")
    r = cli("run", "--rm", "-a", "STDOUT", "busybox", *cmd)
    assert (r.returncode, r.stdout, r.stderr) == (2, "out\n", "")
    r = cli("run", "--rm", "-i", "-a", "stdout", "busybox", "sh", "-c", "cat >&2; echo x",
            input="piped")
    assert (r.returncode, r.stdout, r.stderr) == (0, "x\n", "")


def test_run_a_errors(cli: Dy, busybox: str) -> None:
    r = cli("run", "-d", "-a", "stdout", "busybox", "true")
    assert r.returncode == 125
    assert "Conflicting options: -a and -d" in r.stderr
    r = cli("run", "-a", "bogus", "busybox", "true")
    assert r.returncode == 125
    assert "valid streams are STDIN, STDOUT and STDERR" in r.stderr


def test_run_i_command_not_found(cli: Dy, busybox: str) -> None:
    r = cli("run", "--rm", "-i", "busybox", "nosuchcmd", input="")
    assert r.returncode == 127
    assert "executable file not found" in r.stderr or "not found" in r.stderr


def test_run_i_output_is_logged(cli: Dy, busybox: str) -> None:
    name = _name("log")
    r = cli("run", "-i", "--name", name, "busybox", "sh", "-c", "cat; echo tail >&2",
            input="line1\n")
    assert r.returncode == 0
    logs = cli("logs", name)
    assert (logs.stdout, logs.stderr) == ("line1\n", "tail\n")


# --- attach, start -a -------------------------------------------------------------------

def test_attach_to_run_dit(cli: Dy, busybox: str, term: Term, root: Path) -> None:
    name = _name("dit")
    assert cli("run", "-dit", "--name", name, "busybox", "sh").returncode == 0
    a = term("attach", name, rows=33, cols=90)
    _wake(a)
    a.send("stty size\r")
    a.expect(r"\n33 90\r\n")
    a.send(b"\x10\x11")
    assert a.wait() == 1  # as Docker's attach
    a.expect("read escape sequence")
    assert _status(root, name) == "running"
    b = term("attach", name)
    _wake(b)
    b.send("exit 9\r")
    assert b.wait() == 9


def test_attach_streams_output_of_a_non_tty_container(cli: Dy, busybox: str) -> None:
    name = _name("out")
    cli("run", "-d", "--name", name, "busybox", "sh", "-c",
        "sleep 1; echo later; echo oops >&2; exit 3", check=True)
    r = cli("attach", name)
    assert (r.returncode, r.stdout, r.stderr) == (3, "later\n", "oops\n")


def test_attach_to_a_stopped_container(cli: Dy, busybox: str) -> None:
    name = _name("stopped")
    cli("create", "--name", name, "busybox", "true", check=True)
    r = cli("attach", name)
    assert r.returncode == 1
    assert r.stderr == ("Error response from daemon: You cannot attach to a stopped "
                        "container, start it first\n")


def test_start_a_output_and_exit_code(cli: Dy, busybox: str) -> None:
    name = _name("starta")
    cli("create", "--name", name, "busybox", "sh", "-c", "echo hello; exit 5", check=True)
    r = cli("start", "-a", name)
    assert (r.returncode, r.stdout) == (5, "hello\n")
    r = cli("start", "--attach", name)
    assert (r.returncode, r.stdout) == (5, "hello\n")


def test_start_ai_feeds_stdin(cli: Dy, busybox: str) -> None:
    name = _name("startai")
    cli("create", "-i", "--name", name, "busybox", "sh", "-c", "read x; echo got-$x",
        check=True)
    r = cli("start", "-ai", name, input="abc\n")
    assert (r.returncode, r.stdout) == (0, "got-abc\n")


def test_start_ai_tty_without_a_terminal(cli: Dy, busybox: str, root: Path) -> None:
    name = _name("startnotty")
    cli("create", "-it", "--name", name, "busybox", "sh", check=True)
    r = cli("start", "-ai", name, input="x")
    assert (r.returncode, r.stderr) == (1, "the input device is not a TTY\n")
    assert _status(root, name) == "created"


def test_start_ai_tty(cli: Dy, busybox: str, term: Term) -> None:
    name = _name("startit")
    cli("create", "-it", "--name", name, "busybox", "sh", check=True)
    s = term("start", "-ai", name)
    _prompt(s)
    s.send("echo $((7*6))\r")
    s.expect(r"\n42\r\n")
    s.send("exit 2\r")
    assert s.wait() == 2


# --- exec -------------------------------------------------------------------------------

@pytest.fixture
def running(cli: Dy, busybox: str) -> str:
    name = _name("exec")
    cli("run", "-d", "--name", name, "-e", "FOO=bar", "-w", "/etc", "busybox",
        "sleep", "300", check=True)
    return name


def test_exec_uses_the_containers_defaults(cli: Dy, running: str) -> None:
    r = cli("exec", running, "sh", "-c", "echo $FOO $HOME; id -u; pwd")
    assert (r.returncode, r.stdout) == (0, "bar /root\n0\n/etc\n")


def test_exec_flags_override(cli: Dy, running: str, tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("# a comment\nFROMFILE=1\nFOO=file\n")
    r = cli("exec", "--env-file", str(env_file), "-e", "FOO=baz", "-u", "nobody", "-w",
            "/tmp", running, "sh", "-c", "echo $FOO $FROMFILE; id -u; pwd; exit 5")
    assert (r.returncode, r.stdout) == (5, "baz 1\n65534\n/tmp\n")


def test_exec_cannot_start(cli: Dy, running: str) -> None:
    r = cli("exec", running, "nosuchcmd")
    assert r.returncode == 126
    assert r.stderr == ('OCI runtime exec failed: exec failed: unable to start container '
                        'process: exec: "nosuchcmd": executable file not found in $PATH: '
                        "unknown\n")
    r = cli("exec", running, "/etc")
    assert r.returncode == 126
    assert "permission denied" in r.stderr


def test_exec_stdin_only_with_i(cli: Dy, running: str) -> None:
    r = cli("exec", "-i", running, "cat", input="piped\n")
    assert (r.returncode, r.stdout) == (0, "piped\n")
    r = cli("exec", running, "cat", input="piped\n")
    assert (r.returncode, r.stdout) == (0, "")


def test_exec_detach(cli: Dy, running: str) -> None:
    r = cli("exec", "-d", running, "sh", "-c", "echo done > /tmp/mark")
    assert (r.returncode, r.stdout) == (0, "")
    wait_for(lambda: cli("exec", running, "cat", "/tmp/mark").stdout == "done\n")


def test_exec_privileged(cli: Dy, running: str) -> None:
    plain = cli("exec", running, "grep", "CapEff", "/proc/self/status").stdout
    full = cli("exec", "--privileged", running, "grep", "CapEff", "/proc/self/status").stdout
    assert int(full.split()[1], 16) > int(plain.split()[1], 16)


def test_exec_errors(cli: Dy, busybox: str) -> None:
    r = cli("exec", "nosuchcontainer", "true")
    assert (r.returncode, r.stderr) == (1, "Error: No such container: nosuchcontainer\n")
    cid = cli("create", "busybox", "true", check=True).stdout.strip()
    r = cli("exec", cid[:12], "true")
    assert r.returncode == 1
    assert r.stderr == f"Error response from daemon: Container {cid} is not running\n"


def test_exec_it_size_is_set_before_the_command(running: str, term: Term) -> None:
    s = term("exec", "-it", running, "stty", "size", rows=22, cols=66)
    s.expect(r"22 66\r\n")
    assert s.wait() == 0


def test_exec_it_session(cli: Dy, running: str, term: Term) -> None:
    s = term("exec", "-it", running, "sh", rows=20, cols=70)
    _prompt(s)
    s.send("stty size; echo $TERM; tty\r")
    s.expect(r"\n20 70\r\nxterm\r\n/dev/pts/\d+\r\n")
    s.resize(25, 75)
    s.send("stty size\r")
    s.expect(r"\n25 75\r\n")
    s.send("exit 7\r")
    assert s.wait() == 7
    assert cli("exec", running, "true").returncode == 0  # the container runs on


def test_exec_it_detach_keys_leave_the_process_running(cli: Dy, running: str,
                                                      term: Term) -> None:
    """ctrl-p ctrl-q in ``exec -it``: the CLI leaves (0, Docker's "read escape sequence")
    and the process runs on, its terminal still open: it keeps writing to it."""
    tag = f"detached-{os.getpid()}"
    s = term("exec", "-it", running, "sh", "-c",
             f"echo ready; while :; do echo {tag}; sleep 0.2; done", rows=20, cols=70)
    s.expect("ready")
    s.send(b"\x10\x11")
    assert s.wait() == 0
    time.sleep(1)  # without its terminal, the loop would die of SIGHUP or EIO here
    top = cli("exec", running, "ps", "-o", "pid,args").stdout
    assert tag in top, top
    cli("exec", running, "pkill", "-f", tag)


def test_run_it_terminal_restored_when_the_cli_is_terminated(cli: Dy, busybox: str,
                                                             term: Term, root: Path) -> None:
    import signal
    import termios

    name = _name("term")
    s = term("run", "-it", "--name", name, "busybox", "sh")
    _prompt(s)
    s.proc.send_signal(signal.SIGTERM)
    assert s.wait() == 128 + signal.SIGTERM
    lflag = termios.tcgetattr(s.master)[3]
    assert lflag & termios.ICANON and lflag & termios.ECHO  # not raw any more
    assert _status(root, name) == "running"  # the container runs on
