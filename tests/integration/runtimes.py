"""Driving an OCI runtime's command line (ours or runc) the way containerd does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from dockyard.runtime.spec import example_spec

#: The installed command, as a user (or containerd) runs it.
DOCKYARD_RUNTIME = [os.path.join(os.path.dirname(sys.executable), "dockyard-runtime")]


class Runtime:
    """One runtime binary with its own state root; remembers what it created."""

    def __init__(self, name: str, argv: list[str], root: Path) -> None:
        self.name = name
        self.argv = argv
        self.root = root
        self.ids: list[str] = []

    def __call__(self, *args: str, check: bool = False,
                 timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a command; stdout/stderr go to files, not pipes: a detached container's
        init keeps its stdio open long after ``create`` or ``run -d`` has returned."""
        cmd = [*self.argv, "--root", str(self.root), *args]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                               timeout=timeout, check=False)
            out.seek(0)
            err.seek(0)
            r = subprocess.CompletedProcess(cmd, p.returncode, out.read().decode(),
                                            err.read().decode())
        if check:
            r.check_returncode()
        return r

    def new_id(self) -> str:
        cid = f"t{uuid.uuid4().hex[:10]}"
        self.ids.append(cid)
        return cid

    def state(self, cid: str) -> dict[str, Any]:
        r = self("state", cid, check=True)
        data: dict[str, Any] = json.loads(r.stdout)
        return data

    def cleanup(self) -> None:
        for cid in self.ids:
            self("delete", "--force", cid)
        shutil.rmtree(self.root, ignore_errors=True)


def make_bundle(base: Path, rootfs: Path, args: list[str], *, copy_rootfs: bool = False,
                **changes: Any) -> Path:
    """A bundle whose config is ``runc spec``'s example, non-terminal, running ``args``.
    The rootfs is shared read-only unless ``copy_rootfs``; its cgroup is unique."""
    bundle = base / f"bundle-{uuid.uuid4().hex[:8]}"
    bundle.mkdir()
    if copy_rootfs:
        shutil.copytree(rootfs, bundle / "rootfs", symlinks=True)
        root_path = "rootfs"
    else:
        root_path = str(rootfs)
    spec = example_spec()
    spec["root"]["path"] = root_path
    spec["process"]["terminal"] = False
    spec["process"]["args"] = args
    spec["linux"]["cgroupsPath"] = f"/dockyard-test/{bundle.name}"
    for key, value in changes.items():
        spec[key] = value
    (bundle / "config.json").write_text(json.dumps(spec))
    return bundle


def edit_config(bundle: Path, fn: Any) -> None:
    path = bundle / "config.json"
    spec = json.loads(path.read_text())
    fn(spec)
    path.write_text(json.dumps(spec))


def cgroup_dirs(name: str) -> list[str]:
    """Every cgroup dir of this host whose name is ``name``."""
    found = []
    for dirpath, dirnames, _ in os.walk("/sys/fs/cgroup"):
        if os.path.basename(dirpath) == name:
            found.append(dirpath)
        if dirpath.count("/") > 5:
            dirnames.clear()
    return found


def remove_test_cgroup_parents() -> None:
    for dirpath in cgroup_dirs("dockyard-test"):
        for sub, _, _ in sorted(os.walk(dirpath), key=lambda w: -len(w[0])):
            try:
                os.rmdir(sub)
            except OSError:
                pass
