"""The images facade: what ``dockyard image ...`` and the Engine API call.

Thin on purpose: it resolves names, applies Docker's rules (untag vs delete, dangling,
filters) and shapes results; the work is in :mod:`dockyard.image`.
"""

from __future__ import annotations

import fnmatch
import json

from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.image.config import JSONDict, apply_changes, new_config, now_rfc3339
from dockyard.image.service import ImageService
from dockyard.oci.image_types import host_platform, parse_platform
from dockyard.oci.reference import Reference, parse_reference
from dockyard.record import record, replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, BinaryIO

    from dockyard.image.store import ImageRecord

__all__ = ["HistoryRow", "ImageRow", "Images"]

_CONTAINER_CONFIG_KEYS = ["Hostname", "Domainname", "User", "AttachStdin", "AttachStdout",
                          "AttachStderr", "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd",
                          "Image", "Volumes", "WorkingDir", "Entrypoint", "OnBuild", "Labels"]
_DEFAULTS: dict[str, Any] = {"Hostname": "", "Domainname": "", "User": "", "Image": "",
                             "WorkingDir": "", "AttachStdin": False, "AttachStdout": False,
                             "AttachStderr": False, "Tty": False, "OpenStdin": False,
                             "StdinOnce": False}


def _config_view(section: Any) -> dict[str, Any]:
    """A config section (``config`` or docker's ``container_config``) as docker's inspect
    shows it: every field of its container.Config, defaults where the image has none."""
    view = {k: _DEFAULTS.get(k) for k in _CONTAINER_CONFIG_KEYS}
    if isinstance(section, dict):
        view.update(section)
    return view


@record(frozen=True)
class ImageRow:
    id: str
    repository: str
    tag: str
    digest: str
    created: str
    size: int
    labels: dict[str, str]


@record(frozen=True)
class HistoryRow:
    id: str
    created: str
    created_by: str
    size: int
    comment: str


class Images:
    """``users(image_id)`` names the containers using an image (the container store
    plugs in here); ``rmi`` refuses to delete a used image unless forced."""

    def __init__(self, root: str,
                 users: Callable[[str], list[str]] | None = None) -> None:
        self.svc = ImageService(root)
        self.users = users or (lambda _image_id: [])

    def close(self) -> None:
        self.svc.close()

    def import_tar(self, src: BinaryIO, repo: str | None, changes: list[str],
                   message: str, platform: str | None = None,
                   source: str = "-") -> ImageRecord:
        ref, cfg = self._import_config(repo, changes, message, platform, source)
        try:
            with self.svc.writing():
                layer = self.svc.ingest_layer(src)
                cfg["rootfs"]["diff_ids"] = [layer.digest]
                rec = self.svc.create(json.dumps(cfg, separators=(",", ":")).encode(),
                                      [layer])
                if ref is not None:
                    self.svc.store.tag(str(ref), rec.id)
        except BaseException:
            self.svc.gc_blobs()  # nothing of a failed import stays behind
            raise
        self._event("import", rec.id, rec.id)
        return rec

    @staticmethod
    def _import_config(repo: str | None, changes: list[str], message: str,
                       platform: str | None, source: str) -> tuple[Reference | None, JSONDict]:
        """The name and config of an import; bad input fails here, before any is read."""
        ref = parse_reference(repo) if repo else None
        plat = parse_platform(platform) if platform else host_platform()
        cfg = new_config(plat.os, plat.architecture, plat.variant, [],
                         message or f"Imported from {source}", now_rfc3339())
        apply_changes(cfg, changes)
        return ref, cfg

    def import_url(self, url: str, repo: str | None, changes: list[str], message: str,
                   platform: str | None = None) -> ImageRecord:
        """``docker import URL``: download to a temporary file in the root (unlinked, so
        nothing stays behind), then import it as a file."""
        import os

        from dockyard.image.download import download

        self._import_config(repo, changes, message, platform, url)  # fail before download
        tmp_dir = os.path.join(self.svc.root, "image", "tmp")
        os.makedirs(tmp_dir, mode=0o700, exist_ok=True)
        with download(url, tmp_dir) as f:
            return self.import_tar(f, repo, changes, message, platform, source=url)

    def resolve(self, name: str) -> ImageRecord:
        return self.svc.resolve(name)

    def list_images(self, all_: bool = False, filters: list[str] | None = None,
                    repo: str | None = None) -> list[ImageRow]:
        """``docker images``: one row per tag (``<none>`` for an untagged image), newest
        first; untagged parents of other images only with ``all_``."""
        flt: dict[str, list[str]] = {}
        for f in filters or []:
            k, eq, v = f.partition("=")
            if not eq or k not in ("dangling", "reference", "label", "before", "since"):
                raise InvalidArgument(f"invalid filter '{f}'")
            flt.setdefault(k, []).append(v)
        if repo:
            flt.setdefault("reference", []).append(repo)
        rows: list[ImageRow] = []
        recs = sorted(self.svc.store.all(), key=lambda r: r.created, reverse=True)
        for name in flt.get("before", []):
            pivot = self.svc.resolve(name).created
            recs = [r for r in recs if r.created < pivot]
        for name in flt.get("since", []):
            pivot = self.svc.resolve(name).created
            recs = [r for r in recs if r.created > pivot]
        for rec in recs:
            tags = self.svc.familiar_tags(rec.id)
            if not tags and not all_ and self.svc.store.children(rec.id):
                continue
            if "dangling" in flt:
                # moby's list: dangling=true keeps every untagged image, dangling=false
                # drops only those with no name at all, so an image known only by a
                # digest (pulled as NAME@DIGEST) is listed by both.
                if flt["dangling"][-1].lower() in ("true", "1"):
                    if tags:
                        continue
                elif not tags and not self.svc.store.digests(rec.id):
                    continue
            labels = (self.svc.config(rec.id).get("config") or {}).get("Labels") or {}
            if "label" in flt and not all(_label_match(labels, lab) for lab in flt["label"]):
                continue
            if "reference" in flt:
                tags = [t for t in tags if any(_ref_match(t, p) for p in flt["reference"])]
                if not tags:
                    continue
            digests: dict[str, list[str]] = {}  # repository -> its digests
            for d in self.svc.familiar_digests(rec.id):
                name, _, digest = d.partition("@")
                digests.setdefault(name, []).append(digest)
            pairs = [(t.rpartition(":")[0], t.rpartition(":")[2]) for t in tags]
            if not tags:  # only digests: Docker shows them as REPO <none>
                pairs = [(n, "<none>") for n in digests] or [("<none>", "<none>")]
            for name, tag in pairs:
                # Docker's CLI shows a repository's digest when it has exactly one
                got = digests.get(name, [])
                rows.append(ImageRow(rec.id, name, tag, got[0] if len(got) == 1 else "<none>",
                                     rec.created, rec.size, labels))
        return rows

    def inspect(self, name: str) -> dict[str, Any]:
        rec = self.svc.resolve(name)
        cfg = self.svc.config(rec.id)
        layers = self.svc.layers(rec)
        graph: dict[str, str] = {}
        if layers:
            graph["UpperDir"] = self.svc.snapshots.upper(layers[-1].chain_id)
            lower = [self.svc.snapshots.upper(lay.chain_id) for lay in reversed(layers[:-1])]
            if lower:
                graph["LowerDir"] = ":".join(lower)
        out: dict[str, Any] = {
            "Id": rec.id, "RepoTags": self.svc.familiar_tags(rec.id),
            "RepoDigests": self.svc.familiar_digests(rec.id),
            "Parent": rec.parent, "Comment": cfg.get("comment", ""), "Created": rec.created,
            # docker's builder and commit record these; docker shows them from the config
            "Container": cfg.get("container", ""),
            "ContainerConfig": _config_view(cfg.get("container_config")),
            "DockerVersion": cfg.get("docker_version", ""),
            "Author": cfg.get("author", ""), "Config": _config_view(cfg.get("config")),
            "Architecture": rec.architecture, "Os": rec.os,
        }
        if rec.variant:
            out["Variant"] = rec.variant
        out.update({
            "Size": rec.size, "VirtualSize": rec.size,
            "GraphDriver": {"Data": graph, "Name": self.svc.snapshots.name},
            "RootFS": {"Type": "layers", "Layers": [lay.diff_id for lay in layers]},
            "Metadata": {"LastTagTime": rec.last_tag_time or "0001-01-01T00:00:00Z"},
        })
        return out

    def tag(self, source: str, target: str) -> None:
        rec = self.svc.resolve(source)
        ref = parse_reference(target)
        if ref.digest:
            raise InvalidArgument("refusing to create a tag with a digest reference")
        self.svc.store.tag(str(ref), rec.id)
        self._event("tag", rec.id, ref.familiar())

    def _event(self, action: str, image_id: str, name: str) -> None:
        from dockyard.engine import events

        events.record(self.svc.root, "image", action, image_id, {"name": name})

    def remove(self, name: str, force: bool = False) -> list[str]:
        """Docker's ``rmi``: by name, untag, deleting the image when its last tag goes;
        by ID, delete (an image tagged in several repositories needs ``force``). An image
        a container uses is only untagged, and only when forced or still tagged elsewhere.
        """
        rec = self.svc.resolve(name)
        tags = self.svc.store.tags(rec.id)
        users = self.users(rec.id)
        try:
            ref = parse_reference(name)
        except InvalidArgument:
            ref = None
        digests = self.svc.store.digests(rec.id)
        by_digest = ref is not None and ref.digest is not None and not ref.tag and \
            f"{ref.name}@{ref.digest}" in digests
        by_name = ref is not None and self.svc.store.lookup(str(ref)) == rec.id
        if (by_name or by_digest) and ref is not None:
            if users and len(tags) + len(digests) == 1 and not force:
                raise Conflict(f'conflict: unable to remove repository reference "{name}" '
                               f"(must force) - container {users[0][:12]} is using its "
                               f"referenced image {rec.id[7:19]}")
            out = self._untag_ref(str(ref), by_digest)
            left = self.svc.store.tags(rec.id) + self.svc.store.digests(rec.id)
            if left or users:
                return out
            return out + self._delete_chain(rec.id)
        if users and not force:
            raise Conflict(f"conflict: unable to delete {rec.id[7:19]} (cannot be forced) - "
                           f"image is being used by running container {users[0][:12]}")
        if len({parse_reference(t).name for t in tags}) > 1 and not force:
            raise Conflict(f"conflict: unable to delete {rec.id[7:19]} (must be forced) - "
                           "image is referenced in multiple repositories")
        out = []
        for t in tags:
            out += self._untag_ref(t, False)
        for d in self.svc.store.digests(rec.id):
            self.svc.store.remove_digest(d)
            out.append(f"Untagged: {parse_reference(d).familiar()}")
        return out if users else out + self._delete_chain(rec.id)

    def _delete_chain(self, image_id: str) -> list[str]:
        """Delete ``image_id``, then its build parents that are left untagged, unused
        and without other children (Docker's rmi of a built image)."""
        parent = self.svc.store.get(image_id).parent
        out = self.svc.delete(image_id)
        self._event("delete", image_id, image_id)
        while parent:
            try:
                rec = self.svc.store.get(parent)
            except NotFound:
                break
            if (self.svc.store.tags(rec.id) or self.svc.store.digests(rec.id)
                    or self.svc.store.children(rec.id) or self.users(rec.id)):
                break
            parent = rec.parent
            out += self.svc.delete(rec.id)
            self._event("delete", rec.id, rec.id)
        return out

    def _untag_ref(self, ref: str, is_digest: bool) -> list[str]:
        """Remove one tag or digest reference; as Docker does, the last tag of a
        repository on the image takes that repository's digests with it."""
        if is_digest:
            image_id = self.svc.store.lookup_digest(ref)
            self.svc.store.remove_digest(ref)
        else:
            image_id = self.svc.untag(ref)
        out = [f"Untagged: {parse_reference(ref).familiar()}"]
        if image_id is not None:
            self._event("untag", image_id, image_id)
        if is_digest or image_id is None:
            return out
        repo = parse_reference(ref).name
        if any(parse_reference(t).name == repo for t in self.svc.store.tags(image_id)):
            return out
        for d in self.svc.store.digests(image_id):
            if parse_reference(d).name == repo:
                self.svc.store.remove_digest(d)
                out.append(f"Untagged: {parse_reference(d).familiar()}")
        return out

    def history(self, name: str) -> list[HistoryRow]:
        rec = self.svc.resolve(name)
        cfg = self.svc.config(rec.id)
        sizes = [lay.size for lay in self.svc.layers(rec)]
        rows: list[HistoryRow] = []
        history = cfg.get("history") or [{"created": rec.created}] * len(sizes)
        for h in history:
            size = 0
            if not h.get("empty_layer") and sizes:
                size = sizes.pop(0)
            rows.append(HistoryRow("<missing>", h.get("created", ""), h.get("created_by", ""),
                                   size, h.get("comment", "")))
        rows.reverse()
        # moby ImageHistory: the rows take the image's ID, then its parents' (a build's
        # steps), one each, until the chain ends
        image_id = rec.id
        for i, row in enumerate(rows):
            rows[i] = replace(row, id=image_id)
            image_id = self.svc.store.get(image_id).parent
            if not image_id:
                break
            try:
                self.svc.store.get(image_id)
            except NotFound:
                break
        return rows

    def save(self, names: list[str], out: BinaryIO) -> None:
        from dockyard.image.archive import save_archive

        save_archive(self.svc, names, out)
        for n in names:
            self._event("save", self.svc.resolve(n).id, n)

    def load(self, src: BinaryIO) -> list[str]:
        from dockyard.image.archive import load_archive

        lines = []
        try:
            loaded = load_archive(self.svc, src)
        except BaseException:
            self.svc.gc_blobs()
            raise
        for li in loaded:
            self._event("load", li.image.id, li.image.id)
            for tag, old in li.replaced:
                lines.append(f"The image {tag} already exists, renaming the old one with ID "
                             f"{old} to empty string")
            if li.tags:
                lines += [f"Loaded image: {t}" for t in li.tags]
            else:
                lines.append(f"Loaded image ID: {li.image.id}")
        return lines

    def pull(self, name: str, *, all_tags: bool = False, platform: str | None = None,
             out: Callable[[str], None] = lambda _line: None,
             on_bytes: Callable[[str, int, int], None] | None = None) -> str:
        """``docker pull``; progress lines go to ``out``, layer byte counts to ``on_bytes``
        (``short_id, done, total``); returns the full reference."""
        from dockyard.engine.distribution import pull_image

        full = pull_image(self.svc, name, all_tags=all_tags, platform=platform, out=out,
                          on_bytes=on_bytes)
        ref = parse_reference(full)
        self._event("pull", ref.familiar(), ref.familiar().split(":")[0].split("@")[0])
        return full

    def push(self, name: str, out: Callable[[str], None] = lambda _line: None,
             on_bytes: Callable[[str, int, int], None] | None = None) -> None:
        """``docker push NAME[:TAG]``; progress lines go to ``out``, layer byte counts to
        ``on_bytes`` (``short_id, done, total``)."""
        from dockyard.engine.distribution import push_image

        push_image(self.svc, name, out, on_bytes)
        self._event("push", name, name.split(":")[0])

    def prune(self, all_: bool = False) -> tuple[list[str], int]:
        lines: list[str] = []
        reclaimed = 0
        self.svc.cleanup_stale()
        for rec in self.svc.store.all():
            tags = self.svc.store.tags(rec.id)
            if (tags and not all_) or self.svc.store.children(rec.id) or self.users(rec.id):
                continue
            try:
                for t in tags:
                    self.svc.untag(t)
                    lines.append(f"untagged: {parse_reference(t).familiar()}")
                deleted = self.svc.delete(rec.id)
            except (NotFound, Conflict):
                continue
            lines += [d.replace("Deleted:", "deleted:") for d in deleted]
            reclaimed += rec.size
        return lines, reclaimed


def _label_match(labels: dict[str, str], want: str) -> bool:
    k, eq, v = want.partition("=")
    return k in labels and (not eq or labels[k] == v)


def _ref_match(familiar: str, pattern: str) -> bool:
    """Docker matches ``reference=`` with path.Match against the name and name:tag."""
    name = familiar.rpartition(":")[0]
    for cand in (familiar, name):
        if fnmatch.fnmatchcase(cand, pattern) and (cand.count("/") == pattern.count("/")):
            return True
    return False
