"""dockyard.record behaves as the dataclasses it replaces (compared with dataclasses itself)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from typing import Any

import pytest

from dockyard.record import FrozenInstanceError, asdict, field, fields, record, replace


@record
class Point:
    x: int
    y: int = 0
    tags: list[str] = field(default_factory=list)
    note: str = field(default="", repr=False)
    cache: dict[str, int] = field(default_factory=dict, compare=False)


@record(frozen=True)
class Frozen:
    name: str
    size: int = 1


@record(frozen=True)
class Child(Frozen):
    extra: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name.lower())


@dataclasses.dataclass
class DPoint:
    x: int
    y: int = 0
    tags: list[str] = dataclasses.field(default_factory=list)
    note: str = dataclasses.field(default="", repr=False)
    cache: dict[str, int] = dataclasses.field(default_factory=dict, compare=False)


def error(make: Any) -> str:
    with pytest.raises(TypeError) as info:
        make()
    return str(info.value).replace("DPoint", "Point")


def test_defaults_and_positional_and_keyword_arguments() -> None:
    p = Point(1)
    assert (p.x, p.y, p.tags, p.note, p.cache) == (1, 0, [], "", {})
    q = Point(2, 3, ["a"], note="n")
    assert (q.x, q.y, q.tags, q.note) == (2, 3, ["a"], "n")
    assert Point.y == 0 and Point.note == ""
    assert not hasattr(Point, "x") and not hasattr(Point, "tags")


def test_default_factory_is_called_for_each_instance() -> None:
    a, b = Point(1), Point(1)
    a.tags.append("x")
    a.cache["k"] = 1
    assert b.tags == [] and b.cache == {}


@pytest.mark.parametrize("args, kwargs", [
    ((), {}),
    ((), {"y": 1}),
    ((1, 2, [], "", {}, 6), {}),
    ((1,), {"x": 2}),
    ((1,), {"z": 2}),
])
def test_argument_errors_read_as_dataclasses(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    assert error(lambda: Point(*args, **kwargs)) == error(lambda: DPoint(*args, **kwargs))


def test_two_missing_arguments_are_listed_like_dataclasses() -> None:
    @record
    class Two:
        a: int
        b: int
        c: int

    @dataclasses.dataclass
    class DTwo:
        a: int
        b: int
        c: int

    assert error(lambda: Two()).replace("Two", "X") == error(lambda: DTwo()).replace("DTwo", "X")
    assert error(lambda: Two(1)).replace("Two", "X") == error(lambda: DTwo(1)).replace("DTwo", "X")


def test_eq_and_repr() -> None:
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(1, 3)
    assert Point(1, cache={"a": 1}) == Point(1)  # compare=False
    assert Point(1) != DPoint(1)
    assert repr(Point(1, 2, ["t"], note="hidden")) == "Point(x=1, y=2, tags=['t'], cache={})"
    assert repr(Point(1, 2, ["t"])) == repr(DPoint(1, 2, ["t"])).replace("DPoint", "Point")


def test_frozen_records_refuse_assignment_and_hash_by_fields() -> None:
    f = Frozen("a")
    with pytest.raises(FrozenInstanceError):
        f.size = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del f.name  # type: ignore[misc]
    assert hash(Frozen("a", 2)) == hash(Frozen("a", 2))
    assert {Frozen("a"), Frozen("a")} == {Frozen("a")}
    with pytest.raises(TypeError):
        hash(Point(1))  # an eq, not frozen record is unhashable, as a dataclass


def test_inheritance_and_post_init() -> None:
    c = Child("ABC", 3, ("x",))
    assert (c.name, c.size, c.extra) == ("abc", 3, ("x",))
    assert [f.name for f in fields(Child)] == ["name", "size", "extra"]
    assert repr(c) == "Child(name='abc', size=3, extra=('x',))"
    assert c != Frozen("abc", 3)
    assert Child.__match_args__ == ("name", "size", "extra")


def test_replace_makes_a_new_record_and_runs_post_init() -> None:
    c = Child("a", 1)
    d = replace(c, name="B")
    assert (d.name, d.size, c.name) == ("b", 1, "a")
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        replace(c, nope=1)
    p = Point(1, tags=["a"])
    assert replace(p, y=5) == Point(1, 5, ["a"])


def test_fields_and_asdict() -> None:
    assert [f.name for f in fields(Point(1))] == ["x", "y", "tags", "note", "cache"]
    with pytest.raises(TypeError):
        fields(1)

    @record
    class Outer:
        p: Point
        kids: list[Frozen]
        by: dict[str, Frozen]

    o = Outer(Point(1, tags=["t"]), [Frozen("k")], {"a": Frozen("b", 2)})
    got = asdict(o)
    assert got == {"p": {"x": 1, "y": 0, "tags": ["t"], "note": "", "cache": {}},
                   "kids": [{"name": "k", "size": 1}], "by": {"a": {"name": "b", "size": 2}}}
    assert got["p"]["tags"] is not o.p.tags
    with pytest.raises(TypeError):
        asdict(Point)


def test_definition_errors_as_dataclasses() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        @record
        class Bad:
            a: int = 0
            b: int  # type: ignore[misc]
    with pytest.raises(ValueError, match="mutable default"):
        @record
        class Mutable:
            a: list[int] = []
    with pytest.raises(ValueError):
        field(default=1, default_factory=int)


def test_methods_written_in_the_class_win() -> None:
    @record
    class Own:
        a: int

        def __repr__(self) -> str:
            return "own"

    assert repr(Own(1)) == "own" and Own(1) == Own(1)

    @record(eq=False)
    class Ident:
        a: int

    one = Ident(1)
    assert one != Ident(1) and one == one and {one: 1}[one] == 1


def test_importing_record_imports_neither_dataclasses_nor_typing() -> None:
    code = ("import sys, dockyard.record; "
            "print(sorted(m for m in ('typing', 'dataclasses', 'inspect') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
