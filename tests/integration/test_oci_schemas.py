"""What dockyard writes validates against the OCI image-spec's own JSON schemas.

The schemas come from Debian's ``golang-github-opencontainers-image-spec-dev`` (the
image-spec sources, installed by ``scripts/install.sh test``): the index and ``oci-layout``
of a ``save``, and the manifest and config of images made by ``import``, ``build`` and
``commit``, each read out of the saved archive, and what ``push`` sends to a registry.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Dy
from tests.integration.registry_fixture import Registry

pytestmark = pytest.mark.integration

SCHEMAS = Path("/usr/share/gocode/src/github.com/opencontainers/image-spec/schema")


def _validator(name: str) -> Any:
    """A draft-4 validator for ``SCHEMAS/name``; its ``$ref``s (``defs.json``,
    ``content-descriptor.json``, ...) resolve to the files beside it, by file name, as
    the image-spec's own Go loader does."""
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    def retrieve(uri: str) -> Resource[Any]:
        file = SCHEMAS / uri.split("#", 1)[0].rsplit("/", 1)[-1]
        if not file.suffix:
            file = file.with_suffix(".json")
        return DRAFT4.create_resource(json.loads(file.read_text()))

    schema = json.loads((SCHEMAS / name).read_text())
    registry: Registry[Any] = Registry(retrieve=retrieve)
    return jsonschema.Draft4Validator(schema, registry=registry,
                                      format_checker=jsonschema.FormatChecker())


def _errors(name: str, doc: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in _validator(name).iter_errors(doc)]


def test_the_schemas_are_installed() -> None:
    assert (SCHEMAS / "image-manifest-schema.json").is_file(), (
        "install golang-github-opencontainers-image-spec-dev (scripts/install.sh test)")


def test_a_bad_manifest_is_caught() -> None:
    """The validator itself works, through the ``$ref``s: a digest that is not one (its
    pattern lives in ``defs-descriptor.json``) and a missing ``layers`` fail."""
    config = {"mediaType": "application/vnd.oci.image.config.v1+json",
              "digest": "sha256:" + "ab" * 32, "size": 2}
    good = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": "sha256:" + "cd" * 32, "size": 10}]}
    assert _errors("image-manifest-schema.json", good) == []
    bad_digest = {**good, "config": {**config, "digest": "not a digest"}}
    assert [e for e in _errors("image-manifest-schema.json", bad_digest)
            if e.startswith("config/digest")]
    no_layers = {k: v for k, v in good.items() if k != "layers"}
    assert _errors("image-manifest-schema.json", no_layers) == [": 'layers' is a required property"]


def test_saved_index_manifests_and_configs_validate(cli: Dy, busybox: str,
                                                    tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "greeting").write_text("hello\n")
    (ctx / "Dockerfile").write_text(
        "FROM busybox\nENV A=1\nCOPY greeting /greeting\nRUN echo built > /built\n"
        "EXPOSE 80/tcp\nVOLUME /data\nLABEL k=v\nUSER 1:1\nWORKDIR /tmp\n"
        'HEALTHCHECK --interval=5s CMD ["true"]\nCMD ["cat", "/greeting"]\n')
    cli("build", "-q", "-t", "built:1", str(ctx), check=True)
    cid = cli("create", "busybox", "sh", "-c", "echo x > /x", check=True).stdout.strip()
    cli("start", "-a", cid, check=True)
    cli("commit", "-c", "CMD [\"cat\", \"/x\"]", "-m", "a message", cid, "committed:1",
        check=True)
    out = tmp_path / "saved.tar"
    cli("save", "-o", str(out), "busybox", "built:1", "committed:1", check=True)

    with tarfile.open(out) as tf:
        def read(name: str) -> Any:
            f = tf.extractfile(name)
            assert f is not None, name
            return json.loads(f.read())

        def blob(digest: str) -> Any:
            return read("blobs/" + digest.replace(":", "/", 1))

        assert _errors("image-layout-schema.json", read("oci-layout")) == []
        index = read("index.json")
        assert _errors("image-index-schema.json", index) == []
        assert len(index["manifests"]) == 3
        for desc in index["manifests"]:
            manifest = blob(desc["digest"])
            assert _errors("image-manifest-schema.json", manifest) == [], desc
            config = blob(manifest["config"]["digest"])
            assert _errors("config-schema.json", config) == [], desc
            assert config["rootfs"]["type"] == "layers"


def test_pushed_manifest_and_config_validate(cli: Dy, busybox: str, registry: Registry) -> None:
    """What ``push`` sends (gzip layers: a manifest dockyard writes for the push)."""
    import urllib.request

    name = f"{registry.host}/schema/busybox:1"
    cli("tag", "busybox", name, check=True)
    cli("push", name, check=True)

    def get(path: str, accept: str) -> Any:
        req = urllib.request.Request(f"http://{registry.host}/v2/schema/busybox/{path}",
                                     headers={"Accept": accept})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    manifest = get("manifests/1", "application/vnd.oci.image.manifest.v1+json")
    assert manifest["layers"][0]["mediaType"].endswith("+gzip")
    assert _errors("image-manifest-schema.json", manifest) == []
    config = get("blobs/" + manifest["config"]["digest"], "*/*")
    assert _errors("config-schema.json", config) == []
