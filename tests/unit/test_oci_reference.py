import pytest

from dockyard.errors import InvalidArgument
from dockyard.oci.digest import chain_id, digest_bytes, parse_digest
from dockyard.oci.image_types import host_platform
from dockyard.oci.reference import parse_reference

D = "sha256:" + "a" * 64


@pytest.mark.parametrize(("text", "full", "familiar"), [
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
    ("user/app", "docker.io/user/app:latest", "user/app:latest"),
    ("docker.io/library/busybox:x", "docker.io/library/busybox:x", "busybox:x"),
    ("index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("host:5000/x/y:tag", "host:5000/x/y:tag", "host:5000/x/y:tag"),
    ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
    (f"busybox@{D}", f"docker.io/library/busybox@{D}", f"busybox@{D}"),
    (f"a.io/b:t@{D}", f"a.io/b:t@{D}", f"a.io/b:t@{D}"),
    ("my-app__x/z.y", "docker.io/my-app__x/z.y:latest", "my-app__x/z.y:latest"),
])
def test_parse_and_normalise(text: str, full: str, familiar: str) -> None:
    ref = parse_reference(text)
    assert str(ref) == full
    assert ref.familiar() == familiar


@pytest.mark.parametrize("bad", [
    "", "Busybox", "busybox:", "busybox:-x", "/busybox", "busybox/", "a//b", "bu sy",
    "busybox@sha256:abc", "a" * 64, "x:" + "t" * 129, "-a", "a--", "host:port/x", "my_x.y/z",
])
def test_rejects(bad: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid reference format"):
        parse_reference(bad)


def test_uppercase_message() -> None:
    with pytest.raises(InvalidArgument, match="must be lowercase"):
        parse_reference("BusyBox")


def test_no_default_tag() -> None:
    assert parse_reference("busybox", default_tag="").tag == ""


def test_digest() -> None:
    d = parse_digest(D)
    assert d.algorithm == "sha256" and d.hex == "a" * 64 and d.short() == "a" * 12
    for bad in ["sha256:" + "A" * 64, "sha256:abc", "md5:" + "a" * 32, "nocolon", D + "0"]:
        with pytest.raises(InvalidArgument):
            parse_digest(bad)
    assert digest_bytes(b"") == (
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def test_chain_id() -> None:
    a, b = digest_bytes(b"a"), digest_bytes(b"b")
    assert chain_id([a]) == a
    assert chain_id([a, b]) == digest_bytes(f"{a} {b}".encode())


def test_host_platform() -> None:
    assert str(host_platform("x86_64")) == "linux/amd64"
    assert str(host_platform("aarch64")) == "linux/arm64/v8"
