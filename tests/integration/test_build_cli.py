"""``dockyard build`` end to end: build, run the result, the cache, stages, bad input."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tests.integration.conftest import Dy, no_mounts_under
from tests.integration.lifecycle_helpers import runtime_states

pytestmark = pytest.mark.integration


def _ctx(tmp_path: Path, dockerfile: str, files: dict[str, str] | None = None,
         name: str = "ctx") -> Path:
    ctx = tmp_path / name
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    for rel, text in (files or {}).items():
        p = ctx / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return ctx


def _config(cli: Dy, image: str) -> dict[str, object]:
    info = json.loads(cli("image", "inspect", image, check=True).stdout)[0]
    cfg: dict[str, object] = info["Config"]
    return cfg


def _all_images(cli: Dy) -> set[str]:
    return set(cli("images", "-aq", "--no-trunc").stdout.split())


def _clean(tmp_path: Path) -> None:
    assert no_mounts_under(tmp_path)
    build_dir = tmp_path / "exec" / "build"
    assert not build_dir.exists() or not [p for p in build_dir.iterdir()
                                          if not p.name.startswith("rootfs-")]


def test_build_then_run_with_config(cli: Dy, busybox: str, tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, """\
FROM busybox
LABEL org.example.a=1 "b"="two words"
ENV GREETING=hello NAME="big world"
WORKDIR /app
COPY msg.txt ./
COPY conf /etc/app/
RUN echo "$GREETING $NAME" > /app/out && cat /app/msg.txt >> /app/out
USER nobody
EXPOSE 8080 53/udp
VOLUME /data
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=5s --retries=2 CMD true
ENTRYPOINT ["cat"]
CMD ["/app/out"]
""", {"msg.txt": "from the context\n", "conf/a.conf": "a=1\n"})
    r = cli("build", "-t", f"built{os.getpid()}:v1", "-t", "other:x", str(ctx))
    assert r.returncode == 0, r.stderr
    assert "Step 1/14 : FROM busybox" in r.stdout
    assert "Step 7/14 : RUN echo" in r.stdout
    assert re.search(r"RUN echo.*\n ---> Running in ([0-9a-f]{12})\n"
                     r"Removing intermediate container \1\n ---> [0-9a-f]{12}\n", r.stdout)
    assert r.stdout.rstrip().endswith("Successfully tagged other:x")
    run = cli("run", "--rm", f"built{os.getpid()}:v1", check=True)
    assert run.stdout == "hello big world\nfrom the context\n"
    assert cli("run", "--rm", "other:x", "/etc/app/a.conf", check=True).stdout == "a=1\n"
    c = _config(cli, "other:x")
    assert c["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                        "GREETING=hello", "NAME=big world"]
    assert c["WorkingDir"] == "/app" and c["User"] == "nobody"
    assert c["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert c["Volumes"] == {"/data": {}} and c["StopSignal"] == "SIGUSR1"
    assert c["Labels"] == {"org.example.a": "1", "b": "two words"}
    assert c["Entrypoint"] == ["cat"] and c["Cmd"] == ["/app/out"]
    assert c["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000,
                                "Retries": 2}
    hist = cli("history", "--no-trunc", "--format", "{{.CreatedBy}}", "other:x",
               check=True).stdout.splitlines()
    assert hist[0] == '/bin/sh -c #(nop)  CMD ["/app/out"]'
    assert any(h.startswith("/bin/sh -c echo \"$GREETING $NAME\"") for h in hist)
    assert any(h.startswith("/bin/sh -c #(nop) COPY file:") for h in hist)
    _clean(tmp_path)


def test_rebuild_is_cached_and_a_changed_file_reruns_from_its_step(
        cli: Dy, busybox: str, tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, """\
FROM busybox
ENV A=1
RUN echo first > /first
COPY one.txt /one.txt
RUN cat /one.txt > /copy
COPY two.txt /two.txt
CMD ["cat", "/copy"]
""", {"one.txt": "one\n", "two.txt": "two\n"})
    first = cli("build", "-q", str(ctx), check=True).stdout.strip()
    again = cli("build", str(ctx), check=True)
    assert again.stdout.count("Using cache") == 6
    assert f"Successfully built {first[7:19]}" in again.stdout
    (ctx / "one.txt").write_text("changed\n")
    third = cli("build", str(ctx), check=True)
    steps = third.stdout.split("Step ")[1:]
    cached = ["Using cache" in s for s in steps]
    assert cached == [False, True, True, False, False, False, False]
    image = third.stdout.split("Successfully built ")[1].split()[0]
    assert cli("run", "--rm", image, check=True).stdout == "changed\n"
    nocache = cli("build", "--no-cache", str(ctx), check=True)
    assert "Using cache" not in nocache.stdout


def test_multistage_builds_only_what_the_target_needs(cli: Dy, busybox: str,
                                                       tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, """\
ARG BASE=busybox
FROM ${BASE} AS builder
RUN mkdir /out && echo built > /out/artifact
FROM busybox AS unused
RUN false
FROM busybox AS final
COPY --from=builder /out/artifact /artifact
COPY --from=0 /out /out2/
FROM scratch AS tiny
COPY --from=builder /out/artifact /
""")
    r = cli("build", "--target", "2", str(ctx))
    assert r.returncode == 1  # a target is a stage name, not an index
    assert "failed to reach build target 2" in r.stderr
    r = cli("build", "-t", "ms:final", "--target", "final", str(ctx), check=True)
    assert "RUN false" not in r.stdout and "Step 1/5 : FROM ${BASE} AS builder" in r.stdout
    r = cli("build", "--target", "unused", str(ctx))
    assert r.returncode == 1
    r = cli("build", "-t", "ms:tiny", str(ctx), check=True)
    assert "Step 4/4 : COPY --from=builder" in r.stdout and "RUN false" not in r.stdout
    got = cli("run", "--rm", "ms:final", "cat", "/artifact", "/out2/artifact", check=True)
    assert got.stdout == "built\nbuilt\n"
    save = cli("save", "ms:tiny", check=False)
    assert save.returncode == 0


def test_reproducible_with_source_date_epoch(cli: Dy, busybox: str, tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, """\
FROM busybox
COPY . /src/
RUN echo hi > /hi && mkdir -p /var/x && touch /var/x/y
ENV X=1
""", {"a.txt": "a\n", "d/b.txt": "b\n"})
    env_epoch = "1700000000"

    base = cli("version").args[:7]

    def build(prefix: list[str] = base) -> str:
        b = subprocess.run(["env", f"SOURCE_DATE_EPOCH={env_epoch}", *prefix,
                            "build", "-q", "--no-cache", str(ctx)],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert b.returncode == 0, b.stderr
        return b.stdout.strip()

    one = build()
    os.utime(ctx / "a.txt", (1800000000, 1800000000))
    (ctx / "d").touch()
    two = build()
    assert one == two and one.startswith("sha256:")
    # another root, with the same base image (saved and loaded): the same image
    saved = tmp_path / "base.tar"
    cli("save", "-o", str(saved), "busybox", check=True)
    other = [*base[:3], "--root", str(tmp_path / "root2"), "--exec-root",
             str(tmp_path / "exec2")]
    subprocess.run([*other, "load", "-i", str(saved)], check=True, capture_output=True)
    assert build(other) == one
    info = json.loads(cli("image", "inspect", one, check=True).stdout)[0]
    assert info["Created"] == "2023-11-14T22:13:20Z"


def test_bad_input_names_the_line_and_leaves_nothing(cli: Dy, busybox: str,
                                                     tmp_path: Path) -> None:
    before = _all_images(cli)
    cases = {
        "unknown": ("FROM busybox\nFOO bar\n", "line 2", "unknown instruction: FOO"),
        "argcount": ("FROM busybox\nCOPY only\n", "line 2", "at least two arguments"),
        "outside": ("FROM busybox\nCOPY ../x /x\n", "Dockerfile:2", "outside the build context"),
        "symlink": ("FROM busybox\nCOPY link /x\n", "Dockerfile:2", "outside the build context"),
        "missing": ("FROM busybox\nRUN true\nCOPY nope /x\n", "Dockerfile:3", "nope"),
        "stage": ("FROM busybox\nCOPY --from=nostage /a /b\n", "Dockerfile:2", "nostage"),
        "base": ("FROM nosuchimage\n", "Dockerfile:1", "nosuchimage"),
    }
    for name, (text, where, what) in cases.items():
        ctx = _ctx(tmp_path, text, name=name)
        os.symlink("/etc/passwd", ctx / "link")
        r = cli("build", str(ctx))
        assert r.returncode == 1, (name, r.stdout, r.stderr)
        assert where in r.stderr and what in r.stderr, (name, r.stderr)
        assert "Traceback" not in r.stderr
    ctx = _ctx(tmp_path, "FROM busybox\nENV A=1\nRUN echo visible output; false\n",
               name="fails")
    r = cli("build", str(ctx))
    assert r.returncode == 1
    assert "visible output" in r.stdout
    assert "Dockerfile:3: The command '/bin/sh -c echo visible output; false' returned a " \
           "non-zero code: 1" in r.stderr
    rq = cli("build", "-q", str(ctx))
    assert rq.returncode == 1 and "visible output" in rq.stderr
    code3 = cli("build", str(_ctx(tmp_path, "FROM busybox\nRUN exit 3\n", name="three")))
    assert code3.returncode == 3  # docker build exits with the RUN's code
    assert "returned a non-zero code: 3" in code3.stderr
    bad_tag = cli("build", "-t", "Bad:Tag", str(ctx))
    assert bad_tag.returncode == 125 and 'invalid argument "Bad:Tag"' in bad_tag.stderr
    nodir = cli("build", str(tmp_path / "nodir"))
    assert nodir.returncode == 1 and "unable to prepare context: path" in nodir.stderr
    assert _all_images(cli) == before
    assert cli("system", "check", check=True).stdout.lower() == "no problems found\n"
    _clean(tmp_path)


def test_dockerignore_and_stdin_contexts(cli: Dy, busybox: str, tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "FROM busybox\nCOPY . /ctx/\nRUN find /ctx | sort > /list\n"
               "CMD [\"cat\", \"/list\"]\n",
               {".dockerignore": "*.log\nsecret\ndocs\n!docs/keep.md\n",
                "app.py": "x", "a.log": "l", "secret/key": "k", "docs/keep.md": "m",
                "docs/drop.md": "d", "sub/b.log": "kept: only top-level *.log"})
    img = cli("build", "-q", str(ctx), check=True).stdout.strip()
    listing = cli("run", "--rm", img, check=True).stdout.split()
    assert "/ctx/app.py" in listing and "/ctx/docs/keep.md" in listing
    assert "/ctx/sub/b.log" in listing
    for gone in ("/ctx/a.log", "/ctx/secret", "/ctx/docs/drop.md"):
        assert gone not in listing
    bad = _ctx(tmp_path, "FROM busybox\nCOPY a.log /\n",
               {".dockerignore": "*.log\n", "a.log": "l"}, name="ign")
    r = cli("build", str(bad))
    assert r.returncode == 1 and "excluded by .dockerignore" in r.stderr
    # a tar on stdin, with -f naming a Dockerfile inside it
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in (("build/My.Dockerfile", b"FROM busybox\nCOPY f /f\n"),
                           ("f", b"from tar\n")):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    img = cli("build", "-q", "-f", "build/My.Dockerfile", "-", input=buf.getvalue(),
              check=True).stdout.strip()
    assert cli("run", "--rm", img, "cat", "/f", check=True).stdout == "from tar\n"
    # a Dockerfile alone on stdin
    img = cli("build", "-q", "-", input="FROM busybox\nENV ONLY=df\n", check=True).stdout
    assert "ONLY=df" in _config(cli, img.strip())["Env"]  # type: ignore[operator]


def test_stdin_context_tar_is_confined_and_has_no_whiteouts(cli: Dy, busybox: str,
                                                             tmp_path: Path) -> None:
    """A context tar on stdin: ``.wh.NAME`` is a file like any other (no layer semantics),
    and an entry that would land outside the context through a symlink is refused."""
    def tar(entries: list[tarfile.TarInfo], data: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            for ti in entries:
                body = data.get(ti.name, b"")
                ti.size = len(body) if ti.isfile() else 0
                tf.addfile(ti, io.BytesIO(body) if ti.isfile() else None)
        return buf.getvalue()

    df = b"FROM busybox\nCOPY . /ctx/\n"
    good = tar([tarfile.TarInfo("Dockerfile"), tarfile.TarInfo(".wh.kept")],
               {"Dockerfile": df, ".wh.kept": b"plain\n"})
    img = cli("build", "-q", "-", input=good, check=True).stdout.strip()
    assert cli("run", "--rm", img, "cat", "/ctx/.wh.kept", check=True).stdout == "plain\n"
    link = tarfile.TarInfo("up")
    link.type, link.linkname = tarfile.SYMTYPE, str(tmp_path)
    evil = tar([tarfile.TarInfo("Dockerfile"), link, tarfile.TarInfo("up/escaped")],
               {"Dockerfile": df, "up/escaped": b"x"})
    r = cli("build", "-q", "-", input=evil)
    assert r.returncode != 0 and "build context on stdin" in r.stderr, r.stderr
    assert not (tmp_path / "escaped").exists()


def test_heredocs_args_add_and_more(cli: Dy, busybox: str, tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        ti = tarfile.TarInfo("inner/file")
        ti.size = 3
        tf.addfile(ti, io.BytesIO(b"tar"))
    (tmp_path / "payload.tar.gz").write_bytes(buf.getvalue())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"downloaded\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: object) -> None:
            pass

    srv = HTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        ctx = _ctx(tmp_path, f"""\
FROM busybox
ARG WHO=world
ARG UNSET
ENV FROM_ENV=env
RUN <<EOF
echo "hello $WHO" > /greeting
EOF
COPY <<-"END" /literal
	$FROM_ENV stays
	END
COPY <<END /expanded
$FROM_ENV expanded
END
ADD payload.tar.gz /unpacked/
ADD http://127.0.0.1:{srv.server_port}/dl.txt /downloads/
COPY --chown=nobody:nogroup --chmod=640 owned.txt /owned
SHELL ["/bin/sh", "-ec"]
RUN echo "$WHO ${{UNSET:-default}}" > /args
ONBUILD RUN echo triggered > /trigger
""", {"owned.txt": "o"})
        (ctx / "payload.tar.gz").write_bytes(buf.getvalue())
        r = cli("build", "-t", "hd:1", "--build-arg", "WHO=there", "--build-arg", "EXTRA=1",
                str(ctx))
        assert r.returncode == 0, r.stderr
        assert "[Warning] One or more build-args [EXTRA] were not consumed" in r.stdout
    finally:
        srv.shutdown()
        srv.server_close()
    out = cli("run", "--rm", "hd:1", "sh", "-c",
              "cat /greeting /literal /expanded /unpacked/inner/file /downloads/dl.txt "
              "/args; stat -c '%U:%G %a' /owned /downloads/dl.txt", check=True).stdout
    assert out == ("hello there\n$FROM_ENV stays\nenv expanded\ntar" "downloaded\n"
                   "there default\nnobody:nogroup 640\nroot:root 600\n")
    c = _config(cli, "hd:1")
    assert c["Shell"] == ["/bin/sh", "-ec"]
    assert c["OnBuild"] == ["RUN echo triggered > /trigger"]
    assert "WHO" not in json.dumps(c["Env"])  # build args do not stay in the image
    hist = cli("history", "--no-trunc", "--format", "{{.CreatedBy}}", "hd:1").stdout
    assert "|2 UNSET= WHO=there /bin/sh -ec" not in hist
    assert "|1 WHO=there /bin/sh -ec echo" in hist
    child = _ctx(tmp_path, "FROM hd:1\nRUN cat /trigger\n", name="child")
    r = cli("build", str(child), check=True)
    assert "Executing 1 build trigger" in r.stdout and "triggered" in r.stdout


def test_options_quiet_iidfile_label_platform(cli: Dy, busybox: str, tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "FROM busybox\nRUN echo noisy\n")
    iid = tmp_path / "iid"
    r = cli("build", "-q", "--iidfile", str(iid), "--label", "k=v", str(ctx), check=True)
    assert r.stdout.strip() == iid.read_text() and "noisy" not in r.stdout
    assert _config(cli, iid.read_text())["Labels"] == {"k": "v"}
    r = cli("build", "--platform", "linux/s390x", str(ctx))
    assert r.returncode == 1 and "not supported" in r.stderr
    plat = _ctx(tmp_path, "FROM --platform=$BUILDPLATFORM busybox\nARG TARGETARCH\n"
                "RUN echo arch=$TARGETARCH\n", name="plat")
    r = cli("build", str(plat), check=True)
    import platform

    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), "")
    assert f"arch={arch}\n" in r.stdout
    r = cli("build", "--network", "none", str(_ctx(tmp_path, "FROM busybox\n"
                                                   "RUN ! ping -c1 -W1 127.0.0.2\n",
                                                   name="net")))
    assert r.returncode == 0, r.stderr


def test_built_image_is_read_by_skopeo_and_umoci(cli: Dy, busybox: str,
                                                 tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "FROM busybox\nRUN rm /etc/group && echo x > /x && "
               "cat /etc/hosts > /hosts_seen\nCMD [\"sh\"]\n")
    cli("build", "-t", "sk:1", str(ctx), check=True)
    out = tmp_path / "sk.tar"
    with open(out, "wb") as f:
        subprocess.run([*cli("version").args[:7], "save", "sk:1"], stdout=f, check=True)
    info = json.loads(subprocess.run(["skopeo", "inspect", f"docker-archive:{out}"],
                                     capture_output=True, text=True, check=True).stdout)
    assert len(info["Layers"]) == 2
    oci = tmp_path / "oci"
    subprocess.run(["skopeo", "copy", "-q", f"docker-archive:{out}", f"oci:{oci}:t"],
                   check=True)
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{oci}:t", str(bundle)], check=True,
                   capture_output=True)
    rootfs = bundle / "rootfs"
    assert (rootfs / "x").read_text() == "x\n"
    assert not (rootfs / "etc/group").exists() and (rootfs / "etc/passwd").exists()
    assert not (rootfs / "proc").exists()
    assert "localhost" in (rootfs / "hosts_seen").read_text()
    for name in ("resolv.conf", "hosts", "hostname"):  # bound for RUN, not in the layer
        assert not (rootfs / "etc" / name).exists()


def test_ctrl_c_mid_run_stops_the_build_and_leaves_nothing(cli: Dy, busybox: str,
                                                           tmp_path: Path) -> None:
    import signal
    import time

    before = _all_images(cli)
    ctx = _ctx(tmp_path, "FROM busybox\nENV A=1\nRUN echo started; sleep 60\nENV B=2\n")
    argv = [*cli("version").args[:7], "build", str(ctx)]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        assert p.stdout is not None
        seen = b""
        deadline = time.monotonic() + 60
        while b"started" not in seen and time.monotonic() < deadline:
            seen += p.stdout.readline()
        assert b"started" in seen
        os.killpg(p.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        _, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 1
    assert "Dockerfile:3: the build was interrupted" in err.decode()
    assert _all_images(cli) == before
    assert cli("system", "check", check=True).stdout.lower() == "no problems found\n"
    runtime = tmp_path / "exec" / "runtime"
    assert not runtime_states(runtime)
    _clean(tmp_path)


def test_rmi_of_a_built_image_takes_its_untagged_parents(cli: Dy, busybox: str,
                                                          tmp_path: Path) -> None:
    before = _all_images(cli)
    ctx = _ctx(tmp_path, "FROM busybox\nENV A=1\nRUN echo x > /x\nCMD [\"sh\"]\n")
    cli("build", "-t", "gone:1", str(ctx), check=True)
    assert len(_all_images(cli) - before) == 3
    out = cli("rmi", "gone:1", check=True).stdout
    assert out.startswith("Untagged: gone:1\nDeleted: sha256:")
    assert _all_images(cli) == before
    assert cli("system", "check", check=True).stdout.lower() == "no problems found\n"


def test_a_rebuild_follows_its_inputs(cli: Dy, busybox: str, tmp_path: Path) -> None:
    """Nothing changed: every step cached (the build memo answers); a re-tagged base,
    a removed result or a touched file are each noticed."""
    ctx = _ctx(tmp_path, "FROM busybox\nCOPY f /f\nRUN cat /f > /g\n", {"f": "one\n"})
    first = cli("build", "-t", "memo:1", str(ctx), check=True).stdout
    assert "Using cache" not in first
    built = first.split("Successfully built ")[1].split()[0]
    for _ in range(2):
        again = cli("build", "-t", "memo:1", str(ctx), check=True).stdout
        assert again.count("Using cache") == 2
        assert again.endswith(f"Successfully built {built}\nSuccessfully tagged memo:1\n")
    os.utime(ctx / "f", (1_600_000_000, 1_600_000_000))  # same content: still cached
    assert cli("build", str(ctx), check=True).stdout.count("Using cache") == 2
    # FROM busybox now names another image: nothing is reused
    other = _ctx(tmp_path, "FROM busybox\nENV OTHER=1\n", name="other")
    new_base = cli("build", "-q", str(other), check=True).stdout.strip()
    cli("tag", new_base, "busybox", check=True)
    rebuilt = cli("build", "-t", "memo:1", str(ctx), check=True).stdout
    assert "Using cache" not in rebuilt
    img = rebuilt.split("Successfully built ")[1].split()[0]
    assert "OTHER=1" in _config(cli, img)["Env"]  # type: ignore[operator]
    cli("rmi", "memo:1", check=True)
    gone = cli("build", "-t", "memo:2", str(ctx), check=True)
    assert cli("run", "--rm", "memo:2", "cat", "/g", check=True).stdout == "one\n"
    assert "Successfully tagged memo:2" in gone.stdout


def test_a_cached_rebuild_after_no_cache_gives_the_newest_image(cli: Dy, busybox: str,
                                                                tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "FROM busybox\nRUN date +%N > /stamp\n")
    cli("build", "-q", str(ctx), check=True)
    cli("build", "-q", str(ctx), check=True)
    fresh = cli("build", "-q", "--no-cache", str(ctx), check=True).stdout
    assert cli("build", "-q", str(ctx), check=True).stdout == fresh


@pytest.fixture
def vfs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A root on the copy snapshotter (the fallback without overlayfs)."""
    monkeypatch.setenv("DOCKYARD_SNAPSHOTTER", "vfs")


def test_build_on_the_copy_snapshotter(vfs: None, cli: Dy, busybox: str,
                                       tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "FROM busybox\nCOPY f /f\nRUN rm /etc/group && cat /f > /g\n"
               "CMD [\"cat\", \"/g\"]\n", {"f": "copied\n"})
    assert (tmp_path / "root" / "image" / "snapshotter").read_text().strip() == "vfs"
    cli("build", "-t", "v:1", str(ctx), check=True)
    assert cli("run", "--rm", "v:1", check=True).stdout == "copied\n"
    assert cli("run", "--rm", "v:1", "ls", "/etc/group").returncode == 1  # deleted
    assert cli("run", "--rm", "v:1", "ls", "/etc/passwd").returncode == 0
    sizes = cli("history", "--format", "{{.Size}}", "v:1", check=True).stdout.split()
    assert sizes[:3] == ["0B", "7B", "7B"]  # the diff's files, not the whole tree
    assert cli("system", "check", check=True).stdout.lower() == "no problems found\n"


def test_two_builds_at_once(cli: Dy, busybox: str, tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "FROM busybox\nCOPY f /f\nRUN cat /f > /g\nENV A=1\n", {"f": "x\n"})
    argv = [*cli("version").args[:7], "build", "-q", "--no-cache", str(ctx)]
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, env=env) for _ in range(3)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [r[1] for r in results]
    assert len({r[0] for r in results}) == 1  # reproducible: one image
    assert cli("system", "check", check=True).stdout.lower() == "no problems found\n"
