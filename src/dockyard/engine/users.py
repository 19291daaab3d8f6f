"""``--user`` against the image's ``/etc/passwd`` and ``/etc/group`` (runc's ``GetExecUser``).

``user`` is ``name|uid[:group|gid]``. A name must be in passwd; a number need not be. With no
group given, the primary gid is passwd's and the supplementary gids are every group that lists
the user as a member; with a group given there are no supplementary gids. ``additionalGids``
is the primary gid, those, then the ``--group-add`` ids. Files are read inside the rootfs:
symlinks resolve within it, as Docker's ``FollowSymlinkInScope`` does.
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from dockyard.oci.runtime_types import User

__all__ = ["read_in_rootfs", "resolve_user"]

_MAX_ID = (1 << 31) - 1


def read_in_rootfs(rootfs: str, path: str) -> str | None:
    """The text of ``path`` inside ``rootfs``, ``None`` when it does not exist."""
    from dockyard.image.rootpath import scoped

    try:
        with open(scoped(rootfs, path), encoding="utf-8", errors="replace") as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _rows(text: str | None, width: int) -> list[list[str]]:
    rows = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        rows.append(fields + [""] * (width - len(fields)))
    return rows


def _int(s: str) -> int | None:
    try:
        n = int(s, 10)
    except ValueError:
        return None
    return n if n >= 0 else None


def _check_range(n: int, what: str) -> None:
    if n > _MAX_ID:
        raise InvalidArgument(f"{what} {n} is out of range (0-{_MAX_ID})")


def resolve_user(spec: str, rootfs: str, group_add: Iterable[str] = ()) -> User:
    """The OCI ``process.user`` for ``--user spec`` (``""``: root, as Docker's default)."""
    user_arg, _, group_arg = spec.partition(":")
    passwd = _rows(read_in_rootfs(rootfs, "/etc/passwd"), 7)
    groups = _rows(read_in_rootfs(rootfs, "/etc/group"), 4)

    uid_arg = _int(user_arg)
    uid, gid, name = 0, 0, ""
    for row in passwd:
        row_uid, row_gid = _int(row[2]), _int(row[3])
        if row_uid is None or row_gid is None:
            continue
        if (user_arg == "" and row_uid == 0) or row[0] == user_arg or (
                uid_arg is not None and row_uid == uid_arg):
            uid, gid, name = row_uid, row_gid, row[0]
            break
    else:
        if user_arg == "":
            pass
        elif uid_arg is not None:
            _check_range(uid_arg, "uid")
            uid = uid_arg
        else:
            raise NotFound(f"unable to find user {user_arg}: no matching entries in passwd file")

    sgids: list[int] = []
    if group_arg:
        gid_arg = _int(group_arg)
        for row in groups:
            row_gid = _int(row[2])
            if row_gid is not None and (row[0] == group_arg or row_gid == gid_arg):
                gid = row_gid
                break
        else:
            if gid_arg is None:
                raise NotFound(
                    f"unable to find group {group_arg}: no matching entries in group file")
            _check_range(gid_arg, "gid")
            gid = gid_arg
    elif name:
        for row in groups:
            row_gid = _int(row[2])
            if row_gid is not None and name in row[3].split(","):
                sgids.append(row_gid)

    for extra in group_add:
        sgids.append(_group_id(extra, groups))
    # Docker (20.10.24, the CVE-2023-25173 fix) lists the primary gid first: the process must
    # not keep supplementary groups it did not ask for, and must keep its own.
    return {"uid": uid, "gid": gid, "additionalGids": [gid, *sgids]}


def _group_id(group: str, groups: list[list[str]]) -> int:
    """A ``--group-add`` entry: a group name from the image or any numeric id."""
    for row in groups:
        row_gid = _int(row[2])
        if row_gid is not None and row[0] == group:
            return row_gid
    gid = _int(group)
    if gid is None:
        raise NotFound(f"Unable to find group {group}: no matching entries in group file")
    _check_range(gid, "gid")
    return gid
