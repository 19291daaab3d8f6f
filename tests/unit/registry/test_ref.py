from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument
from dockyard.registry._ref import is_loopback, parse_reference, split_host_port

D = "sha256:" + "a" * 64


@pytest.mark.parametrize(("text", "domain", "repo", "tag", "digest"), [
    ("busybox", "docker.io", "library/busybox", "latest", None),
    ("busybox:1.36", "docker.io", "library/busybox", "1.36", None),
    ("user/app", "docker.io", "user/app", "latest", None),
    ("docker.io/busybox", "docker.io", "library/busybox", "latest", None),
    ("index.docker.io/library/busybox:1", "docker.io", "library/busybox", "1", None),
    ("localhost/app", "localhost", "app", "latest", None),
    ("localhost:5000/a/b:t", "localhost:5000", "a/b", "t", None),
    ("127.0.0.1:5000/test/busybox:1", "127.0.0.1:5000", "test/busybox", "1", None),
    (f"quay.io/x/y@{D}", "quay.io", "x/y", None, D),
    (f"quay.io/x/y:t@{D}", "quay.io", "x/y", "t", D),
    ("a__b/c-d.e_f", "docker.io", "a__b/c-d.e_f", "latest", None),
])
def test_parse(text: str, domain: str, repo: str, tag: str | None, digest: str | None) -> None:
    ref = parse_reference(text)
    assert (ref.domain, ref.repository, ref.tag, ref.digest) == (domain, repo, tag, digest)


def test_api_host_and_str() -> None:
    ref = parse_reference("busybox")
    assert ref.api_host == "registry-1.docker.io"
    assert str(ref) == "docker.io/library/busybox:latest"
    assert ref.reference == "latest"
    pinned = parse_reference(f"127.0.0.1:5000/x@{D}")
    assert pinned.api_host == "127.0.0.1:5000"
    assert pinned.reference == D


@pytest.mark.parametrize("text", ["", " busybox", "Busybox", "a//b", "a:b:c", "a@sha256:12",
                                  "x/y:-bad", "-a/b", "a/b/"])
def test_invalid(text: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_reference(text)


def test_uppercase_message_names_the_problem() -> None:
    with pytest.raises(InvalidArgument, match="must be lowercase"):
        parse_reference("docker.io/User/app")


@pytest.mark.parametrize(("host", "loop"), [
    ("localhost", True), ("localhost:5000", True), ("127.0.0.1:5000", True),
    ("127.1.2.3", True), ("[::1]:5000", True), ("10.0.0.1:5000", False),
    ("registry.example.com", False), ("localhostx:1", False),
])
def test_is_loopback(host: str, loop: bool) -> None:
    assert is_loopback(host) is loop


def test_split_host_port() -> None:
    assert split_host_port("a:1") == ("a", 1)
    assert split_host_port("[::1]:5000") == ("::1", 5000)
    assert split_host_port("a") == ("a", None)


@pytest.mark.parametrize("host", ["bad host", "a/b", "", "a:b:c", "http://x"])
def test_validate_host_rejects(host: str) -> None:
    from dockyard.registry._ref import validate_host

    with pytest.raises(InvalidArgument, match="invalid registry address"):
        validate_host(host)
