import os

import pytest

from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.image.content import LocalContentStore
from dockyard.oci.digest import digest_bytes


def test_ingest_commit_open(tmp_path: object) -> None:
    cs = LocalContentStore(str(tmp_path))
    data = b"hello" * 1000
    d = digest_bytes(data)
    with cs.ingest(d, len(data)) as w:
        w.write(data[:10])
        w.write(data[10:])
        assert w.commit() == d
    assert cs.exists(d) and cs.info(d).size == len(data)
    with cs.open(d) as f:
        assert f.read() == data
    assert [i.digest for i in cs.walk()] == [d]
    assert os.listdir(cs.ingest_dir) == []
    assert cs.put(data) == d  # already there: fine
    cs.delete(d)
    assert not cs.exists(d)
    with pytest.raises(NotFound):
        cs.delete(d)
    with pytest.raises(NotFound):
        cs.open(d)


def test_digest_mismatch_leaves_nothing(tmp_path: object) -> None:
    cs = LocalContentStore(str(tmp_path))
    d = digest_bytes(b"expected")
    with pytest.raises(InvalidArgument, match="unexpected commit digest"):
        cs.put(b"other", expected=d)
    assert not cs.exists(d) and list(cs.walk()) == [] and os.listdir(cs.ingest_dir) == []


def test_size_mismatch_and_abort(tmp_path: object) -> None:
    cs = LocalContentStore(str(tmp_path))
    w = cs.ingest(None, 3)
    w.write(b"ab")
    with pytest.raises(InvalidArgument, match="size"):
        w.commit()
    assert list(cs.walk()) == [] and os.listdir(cs.ingest_dir) == []
    with cs.ingest() as w2:
        w2.write(b"x")
    assert os.listdir(cs.ingest_dir) == []


def test_bad_digest_rejected(tmp_path: object) -> None:
    cs = LocalContentStore(str(tmp_path))
    with pytest.raises(InvalidArgument):
        cs.exists("sha256:../../etc")


def test_resume_by_ref(tmp_path: object) -> None:
    cs = LocalContentStore(str(tmp_path))
    data = b"0123456789" * 100
    d = digest_bytes(data)
    w = cs.ingest(d, len(data), ref="pull-x")
    w.write(data[:300])
    with pytest.raises(Conflict):
        cs.ingest(d, len(data), ref="pull-x")  # one writer per ref
    w.close()  # e.g. the connection dropped
    assert not cs.exists(d)
    with cs.ingest(d, len(data), ref="pull-x") as w2:
        assert w2.offset == 300
        w2.write(data[300:])
        assert w2.commit() == d
    assert cs.read(d) == data and os.listdir(cs.ingest_dir) == []
    with cs.ingest(None, None, ref="pull-y") as w3:
        w3.write(b"partial")
    assert len(os.listdir(cs.ingest_dir)) == 1  # kept for a resume
    cs.ingest(None, None, ref="pull-y").abort()
    assert os.listdir(cs.ingest_dir) == []
