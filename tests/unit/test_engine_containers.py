"""The container store (engine/containers.py), its ps filters and names.py, on tmp roots."""

from __future__ import annotations

import multiprocessing
import random
import re
from pathlib import Path
from typing import Any

import pytest

from dockyard.engine.container_filters import parse
from dockyard.engine.containers import (
    NEVER,
    ContainerRecord,
    ContainerStore,
    Status,
    new_id,
    rfc3339_ns,
)
from dockyard.engine.names import ADJECTIVES, SURNAMES, generate_name, random_name, validate_name
from dockyard.errors import Conflict, InvalidArgument, NotFound

HEX64 = re.compile(r"[0-9a-f]{64}")


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with ContainerStore(str(tmp_path)) as s:
        yield s


def rec(name: str = "", cid: str | None = None, **kw: Any) -> ContainerRecord:
    kw.setdefault("image", "busybox")
    kw.setdefault("image_id", "sha256:" + "b9" * 32)
    return ContainerRecord(id=cid or new_id(), name=name, **kw)


# ids, times, records ----------------------------------------------------------------
def test_new_id_and_time_shapes() -> None:
    ids = {new_id() for _ in range(200)}
    assert len(ids) == 200 and all(HEX64.fullmatch(i) for i in ids)
    assert rfc3339_ns(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456789Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", rfc3339_ns())


def test_create_roundtrip_and_defaults(store: ContainerStore) -> None:
    r = rec("web", config={"Cmd": ["sleep", "300"], "Env": ["A=1"], "Labels": {"a": "b"}},
            host_config={"Memory": 67108864, "RestartPolicy": {"Name": "no"}},
            bundle_dir="/b", rootfs_key="k", log_path="/l.log")
    stored = store.create(r)
    assert stored == r
    got = store.get(r.id)
    assert got == r and got.status is Status.CREATED
    assert got.started_at == got.finished_at == NEVER
    assert got.health is None and got.labels == {"a": "b"}
    assert got.state_json() == {
        "Status": "created", "Running": False, "Paused": False, "Restarting": False,
        "OOMKilled": False, "Dead": False, "Pid": 0, "ExitCode": 0, "Error": "",
        "StartedAt": NEVER, "FinishedAt": NEVER}


def test_create_rejects_bad_input(store: ContainerStore) -> None:
    with pytest.raises(InvalidArgument):
        store.create(rec("x1", cid="abc"))
    with pytest.raises(InvalidArgument, match=re.escape("Invalid container name (a b)")):
        store.create(rec("a b"))
    r = store.create(rec("dup1"))
    with pytest.raises(Conflict):
        store.create(rec("other", cid=r.id))


def test_get_by_id_prefix_name(store: ContainerStore) -> None:
    a = store.create(rec("alpha", cid="ab" + "0" * 62))
    b = store.create(rec("beta", cid="ac" + "1" * 62))
    assert store.get(a.id) == a
    assert store.get("alpha") == a and store.get("/alpha") == a
    assert store.get("ab") == a and store.get("ac1") == b
    with pytest.raises(InvalidArgument, match=r"Multiple IDs found with provided prefix: a$"):
        store.get("a")
    with pytest.raises(NotFound, match="No such container: nope"):
        store.get("nope")
    with pytest.raises(NotFound, match="No such container: ff"):
        store.get("ff")
    with pytest.raises(InvalidArgument):
        store.get("")


def test_name_beats_prefix_and_id_beats_name(store: ContainerStore) -> None:
    a = store.create(rec("a1", cid="a1" + "0" * 62))
    b = store.create(rec("a1a1", cid="ff" + "0" * 62))
    assert store.get("a1") == a          # exact name "a1" is a's own name
    assert store.get("a1a1") == b        # a name wins over an ID prefix of a
    c = store.create(rec(a.id[:12] + "x", cid="ee" + "0" * 62))
    assert store.get(c.name) == c


def test_name_conflict_message(store: ContainerStore) -> None:
    a = store.create(rec("web"))
    msg = (f'Conflict. The container name "/web" is already in use by container "{a.id}". '
           "You have to remove (or rename) that container to be able to reuse that name.")
    with pytest.raises(Conflict) as e:
        store.create(rec("/web"))
    assert str(e.value) == msg
    assert store.names_in_use() == {"web"}


def test_generated_names(store: ContainerStore) -> None:
    recs = [store.create(rec()) for _ in range(30)]
    names = {r.name for r in recs}
    assert len(names) == 30
    for n in names:
        adj, _, rest = n.partition("_")
        assert adj in ADJECTIVES and rest.rstrip("0123456789") in SURNAMES
    assert store.names_in_use() == names


# list and filters ------------------------------------------------------------------
def _fleet(store: ContainerStore) -> dict[str, ContainerRecord]:
    out = {}
    out["c"] = store.create(rec("c1", created="2026-01-01T00:00:01.000000000Z",
                                config={"Labels": {"env": "prod", "tier": "web"}}))
    out["r"] = store.create(rec("r1", created="2026-01-01T00:00:02.000000000Z",
                                image="nginx:1.25", image_id="sha256:" + "aa" * 32,
                                config={"Labels": {"env": "dev"}}))
    out["r"] = store.update_state(out["r"].id, status="running", pid=42,
                                  started_at="2026-01-01T00:00:03.000000000Z")
    out["e"] = store.create(rec("e1", created="2026-01-01T00:00:04.000000000Z",
                                image="docker.io/library/busybox:latest"))
    out["e"] = store.update_state(out["e"].id, status="exited", exit_code=3,
                                  started_at="2026-01-01T00:00:05.000000000Z",
                                  finished_at="2026-01-01T00:00:06.000000000Z")
    return out


def _names(rs: list[ContainerRecord]) -> list[str]:
    return [r.name for r in rs]


def test_list_newest_first_and_running_only(store: ContainerStore) -> None:
    _fleet(store)
    assert _names(store.list()) == ["r1"]
    assert _names(store.list(all=True)) == ["e1", "r1", "c1"]


def test_filters(store: ContainerStore) -> None:
    f = _fleet(store)

    def ps(**flt: Any) -> list[str]:
        return _names(store.list(all=True, filters=flt))

    assert _names(store.list(filters={"status": "exited"})) == ["e1"]   # implies --all
    assert ps(status=["created", "running"]) == ["r1", "c1"]
    assert ps(name="1") == ["e1", "r1", "c1"]
    assert ps(name="^r") == ["r1"] and ps(name="^/c") == ["c1"] and ps(name="z") == []
    assert ps(label="env") == ["r1", "c1"]
    assert ps(label="env=prod") == ["c1"]
    assert ps(label=["env=prod", "tier=web"]) == ["c1"]
    assert ps(label=["env=prod", "tier=db"]) == []
    assert ps(ancestor="busybox") == ["e1", "c1"]
    assert ps(ancestor="busybox:latest") == ["e1", "c1"]
    assert ps(ancestor="nginx:1.25") == ["r1"]
    assert ps(ancestor="sha256:" + "aa" * 32) == ["r1"] and ps(ancestor="aaaa") == ["r1"]
    assert ps(exited="3") == ["e1"] and ps(exited=["0"]) == []
    assert ps(id=f["c"].id[:6]) == ["c1"]
    assert ps(health="none") == ["e1", "r1", "c1"]
    store.update_state(f["r"].id, health={"Status": "healthy", "FailingStreak": 0, "Log": []})
    assert ps(health="healthy") == ["r1"]
    assert ps(status="running", label="env") == ["r1"]
    assert _names(store.list(filters={"before": "e1"})) == ["r1", "c1"]     # implies --all
    assert _names(store.list(filters={"since": f["c"].id[:10]})) == ["e1", "r1"]
    assert ps(since="c1", before="e1") == ["r1"]
    assert ps(before="c1") == [] and ps(since="e1") == []
    with pytest.raises(NotFound):
        store.list(filters={"since": "ghost"})
    assert _names(store.list(limit=2)) == ["e1", "r1"]                      # -n implies --all
    assert _names(store.list(limit=1, filters={"label": "env"})) == ["r1"]


@pytest.mark.parametrize("flt, msg", [
    ({"status": "bogus"}, "invalid filter 'status=bogus'"),
    ({"exited": "x"}, "invalid filter 'exited=x'"),
    ({"color": "red"}, "invalid filter 'color'"),
    ({"name": "("}, "invalid filter 'name=('"),
    ({"health": "meh"}, "invalid filter 'health=meh'"),
])
def test_bad_filters(flt: dict[str, str], msg: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(msg)):
        parse(flt)


# updates ---------------------------------------------------------------------------
def test_update_state(store: ContainerStore) -> None:
    r = store.create(rec("u1"))
    u = store.update_state(r.id, status=Status.RUNNING, pid=7, oom_killed=True,
                           health={"Status": "starting"})
    assert (u.status, u.pid, u.oom_killed, u.health) == (
        Status.RUNNING, 7, True, {"Status": "starting"})
    assert store.get(r.id) == u
    for bad in ({"name": "x"}, {"id": "y"}, {"nope": 1}, {"pid": "7"}, {"status": "zombie"},
                {"oom_killed": 1}, {"exit_code": True}):
        with pytest.raises(InvalidArgument):
            store.update_state(r.id, **bad)
    with pytest.raises(NotFound):
        store.update_state("0" * 64, pid=1)


def test_transition(store: ContainerStore) -> None:
    r = store.create(rec("t1"))
    t = store.transition(r.id, [Status.CREATED, Status.EXITED], Status.RUNNING, pid=9,
                         started_at=rfc3339_ns())
    assert t.status is Status.RUNNING and t.pid == 9
    with pytest.raises(Conflict, match="is running"):
        store.transition(r.id, ["created", "exited"], "running")
    with pytest.raises(Conflict, match=r"^Container t1 is not paused$"):
        store.transition(r.id, ["paused"], "running",
                         conflict_message="Container t1 is not paused")
    assert store.get(r.id) == t      # a refused transition changes nothing
    with pytest.raises(NotFound):
        store.transition("1" * 64, ["created"], "running")
    with pytest.raises(InvalidArgument, match="invalid container status 'zombie'"):
        store.transition(r.id, ["running"], "zombie")
    with pytest.raises(InvalidArgument):
        store.transition(r.id, ["zombie"], "running")


def test_status_guards() -> None:
    assert Status.PAUSED.is_active and not Status.EXITED.is_active
    assert Status.EXITED.can_start and not Status.RUNNING.can_start
    assert Status.DEAD.can_remove_unforced and not Status.RESTARTING.can_remove_unforced
    r = rec("s1", status="paused")                   # a plain string is normalised
    assert r.status is Status.PAUSED
    assert r.state_json()["Running"] and r.state_json()["Paused"]


def test_rename(store: ContainerStore) -> None:
    a = store.create(rec("old"))
    b = store.create(rec("taken"))
    assert store.rename(a.id, "/new").name == "new"
    assert store.get("new").id == a.id
    with pytest.raises(NotFound):
        store.get("old")
    with pytest.raises(Conflict, match=f'in use by container "{b.id}"'):
        store.rename(a.id, "taken")
    with pytest.raises(InvalidArgument, match="same name as its current name"):
        store.rename(a.id, "new")
    with pytest.raises(InvalidArgument, match="Neither old nor new names may be empty"):
        store.rename(a.id, "")
    with pytest.raises(InvalidArgument, match="Invalid container name"):
        store.rename(a.id, "-bad")
    store.create(rec("old"))          # the old name is free again


def test_delete(store: ContainerStore) -> None:
    a = store.create(rec("d1"))
    store.update_state(a.id, status="running")
    with pytest.raises(Conflict):
        store.delete(a.id, only_if=["created", "exited", "dead"])
    assert store.get(a.id).status is Status.RUNNING
    assert store.delete(a.id).id == a.id
    with pytest.raises(NotFound):
        store.get(a.id)
    with pytest.raises(NotFound):
        store.delete(a.id)
    store.create(rec("d1"))
    assert store.users_of_image("sha256:" + "b9" * 32) != []


def test_reconcile(store: ContainerStore) -> None:
    run_dead = store.create(rec("rd", status=Status.RUNNING, pid=100))
    run_alive = store.create(rec("ra", status=Status.RUNNING, pid=101))
    paused = store.create(rec("pd", status=Status.PAUSED, pid=102, exit_code=137))
    restarting = store.create(rec("rs", status=Status.RESTARTING, pid=103))
    told = store.create(rec("tc", status=Status.RUNNING, pid=104))
    removing = store.create(rec("rm", status=Status.REMOVING))
    exited = store.create(rec("ex", status=Status.EXITED, exit_code=1))
    seen: list[str] = []

    def alive(r: ContainerRecord) -> bool:
        seen.append(r.name)
        return r.id == run_alive.id

    changed = store.reconcile(alive, exit_code=lambda r: 0 if r.id == told.id else None)
    assert sorted(seen) == ["pd", "ra", "rd", "rs", "tc"]
    by_id = {r.id: r for r in changed}
    assert set(by_id) == {run_dead.id, paused.id, restarting.id, told.id, removing.id}
    for r, code in ((run_dead, 255), (paused, 137), (restarting, 255), (told, 0)):
        got = store.get(r.id)
        assert (got.status, got.pid, got.exit_code) == (Status.EXITED, 0, code)
        assert got.finished_at != NEVER and got == by_id[r.id]
    assert store.get(removing.id).status is Status.DEAD
    assert store.get(run_alive.id) == run_alive
    assert store.get(exited.id) == exited
    assert store.reconcile(alive) == []              # a second pass finds nothing to do


# names.py --------------------------------------------------------------------------
def test_word_lists() -> None:
    assert len(set(ADJECTIVES)) == len(ADJECTIVES) >= 60
    assert len(set(SURNAMES)) == len(SURNAMES) >= 60
    for w in ADJECTIVES + SURNAMES:
        validate_name(w + "_x")


def test_random_and_generated_names() -> None:
    rng = random.Random(1)
    assert re.fullmatch(r"[a-z]+_[a-z_]+", random_name(0, rng))
    assert re.fullmatch(r"[a-z]+_[a-z_]+[0-9]", random_name(1, rng))
    n = generate_name(lambda name: not name[-1].isdigit(), rng)   # every bare name taken
    assert n is not None and n[-1].isdigit()
    assert generate_name(lambda name: True, rng) is None
    tries: list[str] = []
    generate_name(lambda name: tries.append(name) is None, rng)
    assert len(tries) == 6


@pytest.mark.parametrize("name", ["ab", "/ab", "a.b-c_d", "9lives", "A1"])
def test_valid_names(name: str) -> None:
    assert validate_name(name) == name.lstrip("/")


@pytest.mark.parametrize("name", ["a", "/a", "-ab", "_ab", ".ab", "a b", "a/b", "é1", "//ab", ""])
def test_invalid_names(name: str) -> None:
    msg = f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
    with pytest.raises(InvalidArgument) as e:
        validate_name(name)
    assert str(e.value) == msg


# concurrency -----------------------------------------------------------------------
def _worker(root: str, name: str, barrier: Any, out: Any) -> None:
    barrier.wait()
    try:
        with ContainerStore(root) as s:
            r = s.create(rec(name))
        out.put(("ok", r.id, r.name))
    except Conflict as e:
        out.put(("conflict", "", str(e)))
    except Exception as e:  # reported to the parent, which fails the test
        out.put(("error", "", repr(e)))


def _run_parallel(root: str, names: list[str]) -> list[tuple[str, str, str]]:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(len(names))
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(root, n, barrier, out)) for n in names]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return results


def test_parallel_creates_from_20_processes(tmp_path: Path) -> None:
    ContainerStore(str(tmp_path)).close()       # schema first, as the engine would
    results = _run_parallel(str(tmp_path), [""] * 20)
    assert [r[0] for r in results] == ["ok"] * 20, results
    ids = {r[1] for r in results}
    names = {r[2] for r in results}
    assert len(ids) == 20 and len(names) == 20
    with ContainerStore(str(tmp_path)) as s:
        assert s.names_in_use() == names
        assert {r.id for r in s.list(all=True)} == ids


def test_parallel_creates_same_name_one_wins(tmp_path: Path) -> None:
    results = _run_parallel(str(tmp_path), ["same"] * 20)   # schema created concurrently too
    kinds = sorted(r[0] for r in results)
    assert kinds == ["conflict"] * 19 + ["ok"], results
    winner = next(r[1] for r in results if r[0] == "ok")
    assert all(f'in use by container "{winner}"' in r[2] for r in results if r[0] != "ok")


def test_shares_the_root_database_with_images(tmp_path: Path) -> None:
    from dockyard.image.store import ImageStore
    from dockyard.sqlite import connect

    images = ImageStore(connect(str(tmp_path)))
    with ContainerStore(str(tmp_path)) as s:
        s.create(rec("shared"))
    assert images.all() == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".db") == ["dockyard.db"]
    with ContainerStore(str(tmp_path)) as s:       # reopening keeps the rows
        assert s.get("shared").name == "shared"
