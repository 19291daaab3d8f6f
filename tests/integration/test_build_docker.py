"""``dockyard build`` against ``docker build`` (Debian's docker.io 20.10, classic builder):
the same Dockerfile and context give the same file tree and the same config fields."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Dy
from tests.integration.dockerd import Dockerd

pytestmark = [pytest.mark.integration, pytest.mark.peer]

FIELDS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes",
          "Labels", "StopSignal", "Healthcheck", "OnBuild")

DOCKERFILE = """\
FROM busybox
ARG VERSION=1.0
LABEL org.example.version=$VERSION maintainer="a b"
ENV APP_HOME=/srv/app PATH=/srv/app/bin:$PATH
WORKDIR $APP_HOME
COPY app.sh bin/
COPY conf ./conf
COPY --chown=nobody:nogroup data/ /data/
ADD bundle.tar.gz /opt/
RUN chmod 750 bin/app.sh && rm /etc/group && mkdir -p /var/log/app \\
    && echo "v=$VERSION" > /var/log/app/version \\
    && mkdir -p /usr && ln -s /srv/app/bin/app.sh /usr/local-app
USER nobody
EXPOSE 8080 9000-9001/udp
VOLUME ["/data", "/cache"]
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=30s --timeout=3s --retries=4 CMD ["app.sh", "--health"]
ONBUILD COPY . /onbuild
ENTRYPOINT ["app.sh"]
CMD ["--serve"]
"""


@pytest.fixture
def docker(dockerd: Dockerd) -> Iterator[Dockerd]:
    try:
        yield dockerd
    finally:
        dockerd.empty()


def _context(tmp_path: Path) -> Path:
    ctx = tmp_path / "ctx"
    (ctx / "conf" / "sub").mkdir(parents=True)
    (ctx / "data").mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / "app.sh").write_text("#!/bin/sh\necho app \"$@\"\n")
    os.chmod(ctx / "app.sh", 0o755)
    (ctx / "conf" / "a.conf").write_text("a=1\n")
    (ctx / "conf" / "sub" / "b.conf").write_text("b=2\n")
    os.chmod(ctx / "conf" / "sub" / "b.conf", 0o600)
    (ctx / "data" / "seed").write_text("seed\n")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in (("pkg/README", b"readme\n"), ("pkg/lib/x.so", b"\x7fELF")):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), 0o644
            tf.addfile(ti, io.BytesIO(data))
    (ctx / "bundle.tar.gz").write_bytes(buf.getvalue())
    return ctx


STAGES = """\
FROM busybox AS build
WORKDIR /src
COPY *.txt ./
COPY d d2
RUN mkdir -p /out && cat *.txt > /out/all && cp -r d2 /out/ && rm -rf /etc/passwd /root
FROM busybox
COPY --from=build /out /opt/out
COPY --from=build /out/all /opt/single
COPY a.txt /opt/dir/
COPY d/ /opt/d_contents
COPY a.txt c.txt /opt/two/
RUN mkdir -m 777 /wide
COPY d /wide/
COPY d /root/
RUN rm -rf /tmp && mkdir /tmp && chmod 1777 /tmp && rm /bin/vi
WORKDIR rel
WORKDIR sub
"""


def test_stages_and_copy_rules_as_docker_build(docker: Dockerd, dy: Dy, busybox: str,
                                               tmp_path: Path, root: Path) -> None:
    ctx = tmp_path / "ctx"
    (ctx / "d" / "sub").mkdir(parents=True)
    for rel, text in {"Dockerfile": STAGES, ".dockerignore": "b.txt\nd/skip*\n",
                      "a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n", "d/keep": "k\n",
                      "d/skip1": "s\n", "d/sub/x": "x\n"}.items():
        (ctx / rel).write_text(text)
    os.chmod(ctx / "d", 0o700)  # a copied directory's own mode is not carried over
    _compare(docker, dy, busybox, tmp_path, root, ctx, [])


def _compare(docker: Dockerd, dy: Dy, busybox: str, tmp_path: Path, root: Path, ctx: Path,
             args: list[str]) -> None:
    saved = tmp_path / "busybox.tar"
    dy("save", "-o", str(saved), "busybox:latest", check=True)
    docker.docker("load", "-i", str(saved))
    docker.docker("build", "--network", "none", *args, "-t", "cmp:docker", str(ctx),
                  env={"DOCKER_BUILDKIT": "0"}, timeout=300)
    r = subprocess.run([sys.executable, "-m", "dockyard", "--root", str(root),
                        "--exec-root", str(tmp_path / "exec"), "build", *args,
                        "-t", "cmp:dockyard", str(ctx)],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    theirs = json.loads(docker.docker("image", "inspect", "cmp:docker").stdout)[0]["Config"]
    ours = json.loads(dy("image", "inspect", "cmp:dockyard", check=True).stdout)[0]["Config"]
    for field in FIELDS:
        assert ours.get(field) == theirs.get(field), field
    fmt = ("history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Size}}")
    h_docker = docker.docker(*fmt, "cmp:docker").stdout
    h_dy = dy(*fmt, "cmp:dockyard", check=True).stdout

    def sources(text: str) -> str:  # the sources' hashes are each builder's own
        return re.sub(r"(file|dir|multi):[0-9a-f]{64}", r"\1:HASH", text)

    assert sources(h_dy) == sources(h_docker)
    ids = ("history", "--format", "{{.ID}}")
    assert [i == "<missing>" for i in dy(*ids, "cmp:dockyard").stdout.split()] == [
        i == "<missing>" for i in docker.docker(*ids, "cmp:docker").stdout.split()]
    docker_tar, dy_tar = tmp_path / "docker.tar", tmp_path / "dy.tar"
    docker.docker("save", "-o", str(docker_tar), "cmp:docker")
    dy("save", "-o", str(dy_tar), "cmp:dockyard", check=True)
    t_docker, t_dy = _tree(docker_tar), _tree(dy_tar)
    assert sorted(t_dy) == sorted(t_docker)
    for path, want in t_docker.items():
        assert t_dy[path] == want, path


def _tree(archive: Path) -> dict[str, tuple[Any, ...]]:
    """The image's flattened root from a docker-archive: path -> (type, mode, uid, gid,
    content or link target), whiteouts applied; busybox's applet links left out."""
    files: dict[str, tuple[Any, ...]] = {}
    with tarfile.open(archive) as outer:
        f = outer.extractfile("manifest.json")
        assert f is not None
        manifest = json.load(f)
        for layer in manifest[0]["Layers"]:
            lf = outer.extractfile(layer)
            assert lf is not None
            with tarfile.open(fileobj=io.BytesIO(lf.read())) as tf:
                for m in tf:
                    name = os.path.normpath(m.name)
                    base = os.path.basename(name)
                    parent = os.path.dirname(name)
                    if base == ".wh..wh..opq":
                        for k in [k for k in files if k.startswith(parent + "/")]:
                            del files[k]
                        continue
                    if base.startswith(".wh."):
                        gone = os.path.join(parent, base[4:])
                        for k in [k for k in files if k == gone or k.startswith(gone + "/")]:
                            del files[k]
                        continue
                    data: Any = None
                    if m.isreg():
                        x = tf.extractfile(m)
                        assert x is not None
                        data = x.read()
                    elif m.issym() or m.islnk():
                        data = m.linkname
                    files[name] = (m.type, stat.S_IMODE(m.mode), m.uid, m.gid, data)
    return {k: v for k, v in files.items()
            if not (k.startswith("bin/") and v[0] == tarfile.SYMTYPE)}


def test_same_tree_and_config_as_docker_build(docker: Dockerd, dy: Dy, busybox: str,
                                              tmp_path: Path, root: Path) -> None:
    _compare(docker, dy, busybox, tmp_path, root, _context(tmp_path),
             ["--build-arg", "VERSION=2.5"])
