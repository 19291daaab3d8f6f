"""The build context: a directory, a tar on stdin, or a Dockerfile alone.

Sources resolve inside the context only: ``..`` and symlinks are followed within it and
a path that would leave it is refused (``forbidden path outside the build context``).
``.dockerignore`` hides paths from COPY/ADD (the Dockerfile is read whatever it says).
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile

from dockyard.build.dockerignore import IgnoreMatcher, read_patterns
from dockyard.errors import InvalidArgument, NotFound
from dockyard.image.rootpath import scoped
from dockyard.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import BinaryIO

__all__ = ["BuildContext", "open_context"]


@record
class BuildContext:
    root: str
    dockerfile: str
    dockerfile_name: str
    ignore: IgnoreMatcher
    #: a temporary directory (a tar context) removed by :meth:`close`
    owned: bool = False
    #: an image's rootfs (``COPY --from``): symlinks resolve inside it, never out
    in_image: bool = False

    def close(self) -> None:
        if self.owned:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> BuildContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def resolve(self, rel: str) -> str:
        """A context path (``src``, ``./a/../b``, ``/x``) -> a host path inside the root,
        following symlinks inside the context; leaving it is an error."""
        if self.in_image:
            return scoped(self.root, rel)
        clean = posixpath.normpath("/" + rel.replace("\\", "/"))
        if posixpath.normpath(rel).startswith("..") and not rel.startswith("/"):
            raise InvalidArgument(f"forbidden path outside the build context: {rel}")
        path = self.root
        parts = [p for p in clean.split("/") if p]
        hops = 0
        while parts:
            name = parts.pop(0)
            cand = os.path.join(path, name)
            try:
                st = os.lstat(cand)
            except FileNotFoundError:
                return os.path.join(cand, *parts)
            if stat.S_ISLNK(st.st_mode):
                hops += 1
                if hops > 40:
                    raise InvalidArgument(f"too many symlinks resolving {rel}")
                target = os.readlink(cand)
                base = "/" if target.startswith("/") else "/" + os.path.relpath(path, self.root)
                joined = posixpath.normpath(posixpath.join(base, target))
                if target.startswith("/") or _escapes(base, target):
                    raise InvalidArgument(f"forbidden path outside the build context: {rel} "
                                          f"(a symlink to {target})")
                path = self.root
                parts = [p for p in joined.split("/") if p] + parts
                continue
            path = cand
        return path

    def relpath(self, host: str) -> str:
        return os.path.relpath(host, self.root).replace(os.sep, "/")

    def included(self, host: str) -> bool:
        if not self.ignore.patterns:
            return True
        rel = self.relpath(host)
        return rel == "." or not self.ignore.excluded(rel)

    def walk(self, top: str) -> Iterator[str]:
        """Host paths under ``top`` (not ``top``), sorted, without ignored ones."""
        rel_top = self.relpath(top) if self.ignore.patterns else ""
        yield from self._walk(top, rel_top)

    def _walk(self, top: str, rel_top: str) -> Iterator[str]:
        check = bool(self.ignore.patterns)
        with os.scandir(top) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            rel = f"{rel_top}/{e.name}" if rel_top and rel_top != "." else e.name
            inc = not check or not self.ignore.excluded(rel)
            is_dir = e.is_dir(follow_symlinks=False)
            if inc:
                yield e.path
            if is_dir and (inc or self.ignore.may_include_under(rel)):
                yield from self._walk(e.path, rel)


def _escapes(base: str, target: str) -> bool:
    depth = len([p for p in base.split("/") if p])
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part and part != ".":
            depth += 1
    return False


def open_context(path: str, dockerfile: str | None, stdin: BinaryIO | None,
                 tmp_dir: str) -> BuildContext:
    """``PATH`` or ``-`` (with ``stdin``) and ``-f`` -> the context. ``-f`` is a path
    (relative to the working directory) or, for a tar context, a name inside it."""
    owned = False
    if path == "-":
        if stdin is None:
            raise InvalidArgument("no build context on stdin")
        import tempfile

        root = tempfile.mkdtemp(prefix="build-ctx-", dir=tmp_dir)
        owned = True
        try:
            data = stdin.read()
            df_text = _unpack_stdin(data, root)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        if df_text is not None:  # a Dockerfile alone: an empty context
            return BuildContext(root, df_text, "Dockerfile", IgnoreMatcher([]), owned)
        df_name = dockerfile or "Dockerfile"
        df_path = os.path.join(root, df_name)
    else:
        root = os.path.abspath(path)
        if not os.path.isdir(root):
            raise NotFound(f'unable to prepare context: path "{path}" not found')
        if dockerfile == "-":
            df_path = "-"
        else:
            df_path = os.path.abspath(dockerfile) if dockerfile else os.path.join(
                root, "Dockerfile")
        df_name = os.path.basename(df_path) if df_path != "-" else "Dockerfile"
    try:
        if df_path == "-":
            if stdin is None:
                raise InvalidArgument("no Dockerfile on stdin")
            text = stdin.read().decode()
        else:
            with open(df_path, encoding="utf-8") as f:
                text = f.read()
    except FileNotFoundError:
        if owned:
            shutil.rmtree(root, ignore_errors=True)
        shown = dockerfile or os.path.join(path, "Dockerfile")
        raise NotFound(f"unable to prepare context: unable to evaluate symlinks in "
                       f"Dockerfile path: lstat {shown}: no such file or directory") from None
    patterns: list[str] = []
    try:
        with open(os.path.join(root, ".dockerignore"), encoding="utf-8") as f:
            patterns = read_patterns(f.read())
    except FileNotFoundError:
        pass
    return BuildContext(root, text, df_name, IgnoreMatcher(patterns), owned)


def _unpack_stdin(data: bytes, root: str) -> str | None:
    """A tar (maybe compressed) is unpacked into ``root``; anything else is taken as a
    Dockerfile and returned."""
    import io

    try:
        tf = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")  # noqa: SIM115
    except tarfile.TarError:
        try:
            return data.decode()
        except UnicodeDecodeError:
            raise InvalidArgument("the build context on stdin is neither a tar nor a "
                                  "Dockerfile") from None
    tf.close()
    # Unpacked as an image layer is (entries confined beneath root, links included), with
    # no whiteouts: in a build context ``.wh.NAME`` is just a file. (tarfile's own
    # extraction filters are missing from Debian 12's Python 3.11.2.)
    from dockyard.image.unpack import apply_layer

    try:
        apply_layer(io.BytesIO(data), root, whiteouts="none")
    except InvalidArgument as e:
        raise InvalidArgument(f"the build context on stdin: {e}") from None
    return None
