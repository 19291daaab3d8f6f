"""Typed record classes: what dockyard used ``dataclasses`` for, at a fraction of the cost.

Importing ``dataclasses`` costs ~17-20 ms (it pulls ``inspect``, ``ast``, ``dis``,
``tokenize``) and every ``@dataclass`` another ~0.4 ms (it ``exec``s generated source);
on ``dockyard run``'s path that was ~30 ms. :func:`record` builds a class from its
annotations with generic ``__init__``/``__eq__``/``__repr__`` (and ``__hash__`` when
frozen), no code generation. Supported: fields with defaults or :func:`field`
(``default``, ``default_factory``, ``repr``, ``compare``), ``frozen=True``, ``eq=False``,
``__post_init__``, inheritance from records, ``__match_args__``; :func:`replace`,
:func:`fields`, :func:`asdict`. Not: ``init=False``, ``kw_only``, ``order``, slots,
``InitVar``. mypy sees :func:`record` as a dataclass (PEP 681 ``dataclass_transform``).
"""

from __future__ import annotations

#: ``typing`` is not imported at run time (see the docstring).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, dataclass_transform

    T = TypeVar("T")
else:
    def dataclass_transform(**_kw: object) -> object:
        return lambda f: f

__all__ = ["Field", "FrozenInstanceError", "asdict", "field", "fields", "record", "replace"]


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a ``frozen=True`` record (as dataclasses')."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Field:
    """One field of a record: its name, annotation (a string) and default."""

    __slots__ = ("compare", "default", "default_factory", "name", "repr", "type")

    def __init__(self, default: Any, default_factory: Any, repr: bool, compare: bool) -> None:
        self.name = ""
        self.type: Any = None
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.compare = compare

    def __repr__(self) -> str:
        return (f"Field(name={self.name!r}, type={self.type!r}, default={self.default!r}, "
                f"default_factory={self.default_factory!r}, repr={self.repr}, "
                f"compare={self.compare})")


def field(*, default: Any = MISSING, default_factory: Any = MISSING, repr: bool = True,
          compare: bool = True) -> Any:
    """A field's options, as dataclasses': ``x: list[str] = field(default_factory=list)``."""
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, repr, compare)


def _is_classvar(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return isinstance(text, str) and (text.startswith("ClassVar") or
                                      text.startswith("typing.ClassVar"))


def _collect(cls: type) -> dict[str, Field]:
    """The fields of ``cls``: its record bases' first (in MRO order), then its own."""
    out: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        out.update(base.__dict__.get("__record_fields__", {}))
    own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 (inspect costs ms)
    for name, annotation in own.items():
        if _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        f = value if isinstance(value, Field) else Field(value, MISSING, True, True)
        f.name = name
        f.type = annotation
        if f.default is not MISSING and type(f.default).__hash__ is None:
            raise ValueError(f"mutable default {type(f.default)} for field {name} "
                             "is not allowed: use default_factory")
        if f.default is MISSING:
            if name in cls.__dict__:
                delattr(cls, name)
        else:
            setattr(cls, name, f.default)
        out[name] = f
    seen_default = ""
    for f in out.values():
        if f.default is MISSING and f.default_factory is MISSING:
            if seen_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
        else:
            seen_default = f.name
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _make_init(names: tuple[str, ...], specs: tuple[tuple[str, Any, Any], ...],
               frozen: bool) -> Callable[..., None]:
    setter = object.__setattr__
    positions = {name: i for i, name in enumerate(names)}
    required = sum(1 for _, default, factory in specs if default is MISSING and factory is MISSING)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(names):
            takes = f"from {required + 1} to " if required < len(names) else ""
            raise TypeError(f"{type(self).__qualname__}.__init__() takes {takes}"
                            f"{len(names) + 1} positional arguments but "
                            f"{len(args) + 1} were given")
        if kwargs:
            for key in kwargs:
                pos = positions.get(key)
                if pos is None:
                    raise TypeError(f"{type(self).__qualname__}.__init__() got an "
                                    f"unexpected keyword argument {key!r}")
                if pos < len(args):
                    raise TypeError(f"{type(self).__qualname__}.__init__() got multiple "
                                    f"values for argument {key!r}")
        missing = []
        for i, (name, default, factory) in enumerate(specs):
            if i < len(args):
                value = args[i]
            elif name in kwargs:
                value = kwargs[name]
            elif default is not MISSING:
                value = default
            elif factory is not MISSING:
                value = factory()
            else:
                missing.append(name)
                continue
            if frozen:
                setter(self, name, value)
            else:
                self.__dict__[name] = value
        if missing:
            quoted = [repr(m) for m in missing]
            listed = quoted[0] if len(quoted) == 1 else (
                ", ".join(quoted[:-1]) + (", and " if len(quoted) > 2 else " and ") + quoted[-1])
            raise TypeError(f"{type(self).__qualname__}.__init__() missing "
                            f"{_plural(len(missing), 'required positional argument')}: "
                            f"{listed}")
        post = getattr(self, "__post_init__", None)
        if post is not None:
            post()

    return __init__


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _build(cls: type[T], frozen: bool, eq: bool) -> type[T]:
    all_fields = _collect(cls)
    cls.__record_fields__ = all_fields  # type: ignore[attr-defined]
    names = tuple(all_fields)
    specs = tuple((f.name, f.default, f.default_factory) for f in all_fields.values())
    shown = tuple(f.name for f in all_fields.values() if f.repr)
    compared = tuple(f.name for f in all_fields.values() if f.compare)
    own = cls.__dict__

    def put(name: str, value: Any) -> None:
        if name not in own:
            setattr(cls, name, value)

    put("__init__", _make_init(names, specs, frozen))

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in shown)
        return f"{type(self).__qualname__}({inner})"

    put("__repr__", __repr__)
    if eq:
        def __eq__(self: Any, other: object) -> bool:
            if other.__class__ is not self.__class__:
                return NotImplemented
            return all(getattr(self, n) == getattr(other, n) for n in compared)

        put("__eq__", __eq__)
    explicit_hash = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
    if frozen:
        put("__setattr__", _frozen_setattr)
        put("__delattr__", _frozen_delattr)
    if not explicit_hash and eq:
        if frozen:
            def __hash__(self: Any) -> int:
                return hash(tuple(getattr(self, n) for n in compared))

            cls.__hash__ = __hash__  # type: ignore[method-assign]
        else:
            cls.__hash__ = None  # type: ignore[assignment]
    put("__match_args__", names)
    return cls


@dataclass_transform(field_specifiers=(field,))
def record(cls: Any = None, /, *, frozen: bool = False, eq: bool = True) -> Any:
    """``@record`` or ``@record(frozen=True)``: make ``cls`` a record class."""
    if cls is not None:
        return _build(cls, frozen, eq)
    return lambda c: _build(c, frozen, eq)


def fields(obj: Any) -> tuple[Field, ...]:
    """The fields of a record class or instance, in ``__init__`` order."""
    try:
        found: dict[str, Field] = obj.__record_fields__
    except AttributeError:
        raise TypeError("must be called with a record class or instance") from None
    return tuple(found.values())


def replace(obj: T, /, **changes: Any) -> T:
    """A copy of record ``obj`` with ``changes`` (``__init__`` and ``__post_init__`` run)."""
    for f in fields(obj):
        if f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    new: T = obj.__class__(**changes)
    return new


def asdict(obj: Any) -> dict[str, Any]:
    """Record ``obj`` as a dict, records, lists, tuples and dicts inside it converted too."""
    if not hasattr(obj, "__record_fields__") or isinstance(obj, type):
        raise TypeError("asdict() should be called on record instances")
    out: dict[str, Any] = _convert(obj)
    return out


def _convert(value: Any) -> Any:
    if hasattr(value, "__record_fields__") and not isinstance(value, type):
        return {n: _convert(getattr(value, n)) for n in value.__record_fields__}
    if isinstance(value, list):
        return [_convert(v) for v in value]
    if isinstance(value, tuple):
        return type(value)(*(_convert(v) for v in value)) if hasattr(value, "_fields") \
            else tuple(_convert(v) for v in value)
    if isinstance(value, dict):
        return {_convert(k): _convert(v) for k, v in value.items()}
    return value
