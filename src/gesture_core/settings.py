"""Settings defined once: a dataclass field carries its default, description, range and choices.

Every tunable value of a node (and of a generator backend) is a field of a frozen dataclass made
with :func:`setting`; the ROS parameter declarations (``gesture_ros.ros_io.declare_settings``),
``config/gesture.yaml``, the launch arguments and ``gesture-bringup`` options, and the README's
parameter table are all derived from these fields (:func:`specs`, :func:`yaml_text`,
:func:`markdown_rows`), and tests fail when the committed YAML or README drifts from them.

A settings instance validates itself on construction (type, range, choices, then the class's own
cross-field :meth:`Settings.check`) and raises :class:`~gesture_core.errors.ConfigError` naming the
field; :meth:`Settings.replace` returns a new validated instance, so a node swaps its settings
atomically: all of a parameter change or none of it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from .errors import ConfigError

_KEY = "gesture.setting"
S = TypeVar("S", bound="Settings")


@dataclass(frozen=True)
class Spec:
    """What a setting is: ``description``, an inclusive numeric ``range`` or the allowed ``choices``,
    whether it is ``dynamic`` (changeable while running; False: read at start-up), the ``unit`` shown
    in tables, and ``default_text`` where the default is not a constant (e.g. "robot config")."""

    description: str
    range: tuple[float, float] | None = None
    choices: tuple[Any, ...] | None = None
    dynamic: bool = True
    unit: str = ""
    default_text: str = ""


def setting(
    default: Any,
    description: str,
    *,
    range: tuple[float, float] | None = None,  # noqa: A002 (the natural name of the field)
    choices: Sequence[Any] | None = None,
    dynamic: bool = True,
    unit: str = "",
    default_text: str = "",
) -> Any:
    """A dataclass field that is a setting (see :class:`Spec`). List defaults are copied per instance."""
    spec = Spec(description, range, tuple(choices) if choices is not None else None, dynamic, unit, default_text)
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={_KEY: spec})
    return field(default=default, metadata={_KEY: spec})


@dataclass(frozen=True)
class Item:
    """One setting of a settings class: its ``name``, ``default`` value and :class:`Spec`."""

    name: str
    default: Any
    spec: Spec

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable for this setting, or None."""
        want = type(self.default)
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or (want is not bool and isinstance(value, bool)):
            return f"{self.name}={value!r} must be a {want.__name__}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"{self.name}={value!r} must be finite"
        if self.spec.choices is not None and value not in self.spec.choices:
            return f"{self.name}={value!r} is not one of {list(self.spec.choices)}"
        if self.spec.range is not None:
            lo, hi = self.spec.range
            if not lo <= value <= hi:
                return f"{self.name}={value!r} is outside [{lo:g}, {hi:g}]"
        return None


def specs(cls: type) -> list[Item]:
    """The settings of a dataclass (instance or class), in field order."""
    out = []
    for f in dataclasses.fields(cls):
        if _KEY in f.metadata:
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            out.append(Item(f.name, default, f.metadata[_KEY]))
    return out


@dataclass(frozen=True)
class Settings:
    """Base of the settings dataclasses: validated on construction, replaced atomically.

    ``node`` (class attribute) is the ROS node name whose parameters these are, where they are.
    """

    node: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for item in specs(self):
            value = getattr(self, item.name)
            if problem := item.problem(value):
                raise ConfigError(problem)
            if type(item.default) is float and not isinstance(value, float):
                object.__setattr__(self, item.name, float(value))  # an integer given for a float setting
        self.check()

    def check(self) -> None:
        """Cross-field rules of a subclass; raise :class:`ConfigError` naming the fields."""

    def replace(self: S, **changes: Any) -> S:
        """A new validated instance with ``changes``; unknown names raise :class:`ConfigError`."""
        unknown = set(changes) - {item.name for item in specs(self)}
        if unknown:
            raise ConfigError(f"unknown setting(s) {sorted(unknown)} of {type(self).__name__}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return {item.name: getattr(self, item.name) for item in specs(self)}


# --------------------------------------------------------------------------------------------
# Derived texts: parameter files and documentation tables
# --------------------------------------------------------------------------------------------


def _yaml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_value(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def yaml_lines(items: Sequence[Item], values: dict[str, Any], indent: int) -> Iterator[str]:
    """``name: value  # description`` lines (``values`` overrides defaults); dotted names nest."""
    groups: dict[str, list[Item]] = {}
    for item in items:
        head, _, rest = item.name.partition(".")
        if rest:
            groups.setdefault(head, []).append(Item(rest, item.default, item.spec))
            continue
        value = values.get(item.name, item.default)
        note = item.spec.description + ("" if item.spec.dynamic else " (start-up)")
        yield f"{' ' * indent}{item.name}: {_yaml_value(value)}  # {note}"
    for head, sub in groups.items():
        yield f"{' ' * indent}{head}:"
        nested = {k.partition(".")[2]: v for k, v in values.items() if k.startswith(head + ".")}
        yield from yaml_lines(sub, nested, indent + 2)


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _range_text(item: Item) -> str:
    spec = item.spec
    if spec.choices is not None:
        return " / ".join(f"`{c}`" if c != "" else '`""`' for c in spec.choices)
    if spec.range is not None:
        lo, hi = (_number(v) for v in spec.range)
        return f"{lo}–{hi}" + (f" {spec.unit}" if spec.unit else "")
    return {bool: "bool", str: "text", list: "list"}.get(type(item.default), type(item.default).__name__)


def _default_text(item: Item) -> str:
    if item.spec.default_text:
        return item.spec.default_text
    value = item.default
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == "":
        return '""'
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def markdown_rows(node: str, items: Sequence[Item], notes: dict[str, str] | None = None) -> list[str]:
    """README parameter-table rows ``| node | `name` | meaning | range | default |``; ``notes``
    adds text to a setting's meaning (e.g. the launch argument that sets it)."""
    rows = []
    for item in items:
        meaning = item.spec.description
        extra = [n for n in ((notes or {}).get(item.name, ""), "" if item.spec.dynamic else "*start-up*") if n]
        if extra:
            meaning += " (" + "; ".join(extra) + ")"
        rows.append(f"| {node} | `{item.name}` | {meaning} | {_range_text(item)} | {_default_text(item)} |")
    return rows


def check_non_negative(instance: Any, section: str) -> None:
    """Raise :class:`ConfigError` naming ``section.field`` unless every field of the dataclass
    ``instance`` is a finite number >= 0 (the plain numeric configs of the generators)."""
    for f in dataclasses.fields(instance):
        value = getattr(instance, f.name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ConfigError(f"{section}.{f.name} must be a finite number >= 0, got {value!r}")
