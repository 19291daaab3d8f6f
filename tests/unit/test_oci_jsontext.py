import json
from typing import Any

import pytest

from dockyard.oci.jsontext import dumps, loads
from dockyard.runtime.spec import example_spec

SAMPLES: list[Any] = [
    {}, [], "", 0, -1, 2**64 - 1, 1.5, True, False, None,
    {"a": [1, {"b": None}], "é": "ünïcödé \u2028 \"quoted\" \\ \n\t"},
    example_spec(), example_spec(rootless=True),
]


@pytest.mark.parametrize("obj", SAMPLES)
def test_round_trips_exactly_as_json_does(obj: Any) -> None:
    text = dumps(obj)
    assert json.loads(text) == obj
    assert loads(text) == obj
    assert loads(json.dumps(obj, indent=2)) == obj
    assert text == json.dumps(obj, separators=(",", ":"))


@pytest.mark.parametrize("bad", ["", "{", '{"a":}', "[1,2", "{}x", "nul", '{"a" 1}', "[1,]"])
def test_malformed_input_is_a_value_error(bad: str) -> None:
    with pytest.raises(ValueError):
        loads(bad)


def test_bytes_and_surrounding_whitespace() -> None:
    assert loads(b'  \n{"x": [1, 2]}\n ') == {"x": [1, 2]}


def test_unserializable_values_are_refused() -> None:
    with pytest.raises(TypeError):
        dumps({"a": object()})
    with pytest.raises(TypeError):
        dumps({1: "x"})
    with pytest.raises(ValueError):
        dumps(float("nan"))


def test_copy_is_deepcopy_for_json_documents() -> None:
    import copy as stdcopy

    from dockyard.oci.jsontext import copy

    spec = example_spec()
    spec["annotations"] = {"t": ("a", ["b"])}
    got = copy(spec)
    assert got == stdcopy.deepcopy(spec)
    assert got["process"] is not spec["process"]
    assert got["process"]["args"] is not spec["process"]["args"]
    assert got["annotations"]["t"][1] is not spec["annotations"]["t"][1]
