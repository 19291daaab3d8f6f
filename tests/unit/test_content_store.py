import os

import pytest

from dockyard.errors import InvalidArgument, NotFound
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
