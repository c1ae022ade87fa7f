"""Value classes that cost next to nothing to define.

Why: `@dataclass` writes the source of each class's methods and compiles it when the module
is imported, about 0.5 ms a class on a Lambda-sized CPU, and the first alert's path defines
about thirty of them: a tenth of the cold start that is ours. `value` gives the same
behaviour (keyword or positional `__init__` in field order, defaults and `field(...)`,
`__repr__`, `__eq__`, `__hash__` when frozen, `order=True`, `FrozenInstanceError` on
assignment, `__match_args__`) with methods shared by every class, so defining one costs about
what a plain class costs. mypy reads `value` as a dataclass (PEP 681 `dataclass_transform`),
so field names and types are still checked at every construction.

Not supported (and not used): `InitVar`, `kw_only`, `slots`, `init=False` or `compare=False`
fields. `ClassVar` annotations are skipped, as `dataclass` skips them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import FrozenInstanceError
from typing import Any, ClassVar, TypeVar, dataclass_transform, get_origin, overload

_T = TypeVar("_T")
_C = TypeVar("_C", bound=type)

_MISSING: Any = object()


class _Field:
    """What `field()` leaves on the class until `value` reads it."""

    __slots__ = ("default", "default_factory", "hash", "repr")

    def __init__(self, default: Any, default_factory: Any, repr: bool, hash: bool) -> None:
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.hash = hash


@overload
def field(*, default: _T, repr: bool = True, hash: bool = True) -> _T: ...
@overload
def field(*, default_factory: Callable[[], _T], repr: bool = True, hash: bool = True) -> _T: ...
@overload
def field(*, repr: bool = True, hash: bool = True) -> Any: ...
def field(
    *,
    default: Any = _MISSING,
    default_factory: Any = _MISSING,
    repr: bool = True,
    hash: bool = True,
) -> Any:
    """A field with a default or a default factory (a fresh list or dict each time), or one
    left out of `repr` or (`hash=False`, for an unhashable mapping) out of `__hash__`."""
    if default is not _MISSING and default_factory is not _MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return _Field(default, default_factory, repr, hash)


def _is_class_var(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    return annotation is ClassVar or get_origin(annotation) is ClassVar


class _Spec:
    """A value class's fields, read once when the class is defined."""

    __slots__ = ("defaults", "factories", "hash_names", "names", "repr_names")

    def __init__(
        self,
        names: tuple[str, ...],
        defaults: dict[str, Any],
        factories: dict[str, Callable[[], Any]],
        repr_names: tuple[str, ...],
        hash_names: tuple[str, ...],
    ) -> None:
        self.names = names
        self.defaults = defaults
        self.factories = factories
        self.repr_names = repr_names
        self.hash_names = hash_names


def _spec(cls: type) -> _Spec:
    """The fields of `cls`: those of value-class bases first, then its own, in order."""
    names: dict[str, None] = {}  # ordered set
    defaults: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    hidden: set[str] = set()
    unhashed: set[str] = set()
    for base in reversed(cls.__mro__[1:]):
        inherited: _Spec | None = base.__dict__.get("__value_spec__")
        if inherited is not None:
            names.update(dict.fromkeys(inherited.names))
            defaults.update(inherited.defaults)
            factories.update(inherited.factories)
            hidden.update(set(inherited.names) - set(inherited.repr_names))
            unhashed.update(set(inherited.names) - set(inherited.hash_names))
    for name, annotation in cls.__annotations__.items():
        if _is_class_var(annotation):
            continue
        names[name] = None
        declared = cls.__dict__.get(name, _MISSING)
        if not isinstance(declared, _Field):
            declared = _Field(declared, _MISSING, repr=True, hash=True)
        if declared.default_factory is not _MISSING:
            factories[name] = declared.default_factory
        elif declared.default is not _MISSING:
            defaults[name] = declared.default
        # As dataclass leaves them: a plain default on the class, nothing for the others.
        if declared.default is _MISSING and name in cls.__dict__:
            delattr(cls, name)
        elif declared.default is not _MISSING:
            setattr(cls, name, declared.default)
        (hidden.discard if declared.repr else hidden.add)(name)
        (unhashed.discard if declared.hash else unhashed.add)(name)
    _check_order(tuple(names), defaults.keys() | factories.keys())
    return _Spec(
        tuple(names),
        defaults,
        factories,
        tuple(name for name in names if name not in hidden),
        tuple(name for name in names if name not in unhashed),
    )


def _check_order(names: tuple[str, ...], defaulted: set[str]) -> None:
    """As `dataclass` does: a field without a default cannot follow one with a default."""
    seen_default = ""
    for name in names:
        if name in defaulted:
            seen_default = name
        elif seen_default:
            raise TypeError(
                f"non-default argument {name!r} follows default argument {seen_default!r}"
            )


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    spec: _Spec = type(self).__value_spec__
    names = spec.names
    if len(args) > len(names):
        raise TypeError(
            f"{type(self).__qualname__}() takes {len(names)} positional arguments"
            f" but {len(args)} were given"
        )
    for name, item in zip(names, args, strict=False):
        object.__setattr__(self, name, item)
    for name in names[len(args) :]:
        if name in kwargs:
            item = kwargs.pop(name)
        elif name in spec.defaults:
            item = spec.defaults[name]
        elif name in spec.factories:
            item = spec.factories[name]()
        else:
            raise TypeError(f"{type(self).__qualname__}() missing required argument: {name!r}")
        object.__setattr__(self, name, item)
    if kwargs:
        unexpected = next(iter(kwargs))
        raise TypeError(f"{type(self).__qualname__}() got an unexpected argument: {unexpected!r}")
    post_init = getattr(self, "__post_init__", None)
    if post_init is not None:
        post_init()


def _astuple(self: Any) -> tuple[Any, ...]:
    return tuple([getattr(self, name) for name in type(self).__value_spec__.names])


def _repr(self: Any) -> str:
    shown = ", ".join(
        f"{name}={getattr(self, name)!r}" for name in type(self).__value_spec__.repr_names
    )
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: object) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented  # type: ignore[no-any-return]
    return bool(_astuple(self) == _astuple(other))


def _hash(self: Any) -> int:
    return hash(tuple([getattr(self, name) for name in type(self).__value_spec__.hash_names]))


def _frozen_setattr(self: Any, name: str, item: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _comparison(compare: Callable[[tuple[Any, ...], tuple[Any, ...]], bool]) -> Any:
    def method(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented  # type: ignore[no-any-return]
        return compare(_astuple(self), _astuple(other))

    return method


_ORDER = {
    "__lt__": _comparison(lambda a, b: a < b),
    "__le__": _comparison(lambda a, b: a <= b),
    "__gt__": _comparison(lambda a, b: a > b),
    "__ge__": _comparison(lambda a, b: a >= b),
}


def _make(cls: _C, frozen: bool, order: bool) -> _C:
    spec = _spec(cls)
    methods: dict[str, Any] = {"__init__": _init, "__eq__": _eq}
    methods["__hash__"] = _hash if frozen else None
    if frozen:
        methods["__setattr__"] = _frozen_setattr
        methods["__delattr__"] = _frozen_delattr
    if order:
        methods.update(_ORDER)
    if "__repr__" not in cls.__dict__:
        methods["__repr__"] = _repr
    for name, method in methods.items():
        setattr(cls, name, method)
    setattr(cls, "__value_spec__", spec)  # noqa: B010 (a new attribute mypy cannot know)
    setattr(cls, "__match_args__", spec.names)  # noqa: B010
    return cls


@overload
def value(cls: _C, /) -> _C: ...
@overload
def value(*, frozen: bool = True, order: bool = False) -> Callable[[_C], _C]: ...
@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def value(cls: Any = None, /, *, frozen: bool = True, order: bool = False) -> Any:
    """Make `cls` a value class: frozen (hashable, no assignment) unless `frozen=False`."""
    if cls is None:
        return lambda cls: _make(cls, frozen, order)
    return _make(cls, frozen, order)


def replace(obj: _T, /, **changes: Any) -> _T:
    """A copy of the value `obj` with `changes`, as `dataclasses.replace` makes one."""
    for name in type(obj).__value_spec__.names:  # type: ignore[attr-defined]
        if name not in changes:
            changes[name] = getattr(obj, name)
    return type(obj)(**changes)


def fields(cls: type) -> dict[str, Any]:
    """A value class's fields in order, each with its annotation (a string under
    `from __future__ import annotations`), for checks that walk every field."""
    annotations: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        annotations.update(getattr(klass, "__annotations__", {}))
    return {name: annotations[name] for name in cls.__value_spec__.names}  # type: ignore[attr-defined]
