"""What every node of the stack shares at its ROS edge: message classes, parameters, guarded callbacks.

- :func:`msg_class` turns a contract's ``pkg/msg/Name`` into the message class.
- :class:`Param` + :func:`declare_params` declare parameters with descriptors (description, range,
  allowed values) and install one set-parameters callback that rejects bad values with a reason;
  rclpy itself enforces the numeric ranges of the descriptors.
- :func:`guarded` wraps a subscription callback: a :class:`~gesture_core.errors.GestureError`
  (a message that breaks its contract, say) is logged with the topic and dropped; the node lives on.
"""

from __future__ import annotations

import functools
import importlib
import sys
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from gesture_core.contracts import Topic
from gesture_core.errors import GestureError
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node


def msg_class(topic: Topic | str) -> type:
    """The message class of a topic contract or of a type name, e.g. ``sensor_msgs/msg/Image`` -> ``Image``."""
    pkg, kind, name = (topic.msg_type if isinstance(topic, Topic) else topic).split("/")
    return getattr(importlib.import_module(f"{pkg}.{kind}"), name)


@dataclass(frozen=True)
class Param:
    """A node parameter: name, default, description, and optionally a numeric range or choices.

    ``check`` may add a validation rule: it returns an error message for a bad value, else None.
    ``dynamic=False`` marks parameters read once at start-up (changing them is refused live).
    """

    name: str
    default: Any
    description: str
    range: tuple[float, float] | None = None
    choices: Sequence[Any] | None = None
    check: Callable[[Any], str | None] | None = None
    dynamic: bool = True

    def descriptor(self) -> ParameterDescriptor:
        d = ParameterDescriptor(description=self.description, read_only=False)
        if self.choices is not None:
            d.additional_constraints = "one of: " + ", ".join(map(str, self.choices))
        if not self.dynamic:
            d.additional_constraints = (d.additional_constraints + "; " if d.additional_constraints else "") + (
                "read at start-up only"
            )
        if self.range is not None:
            lo, hi = self.range
            if isinstance(self.default, bool):
                pass
            elif isinstance(self.default, int):
                d.integer_range = [IntegerRange(from_value=int(lo), to_value=int(hi), step=0)]
            else:
                d.floating_point_range = [FloatingPointRange(from_value=float(lo), to_value=float(hi), step=0.0)]
        return d

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable, or None."""
        if self.choices is not None and value not in self.choices:
            return f"{self.name}={value!r} is not one of {list(self.choices)}"
        if self.range is not None and not isinstance(value, bool) and isinstance(value, (int, float)):
            lo, hi = self.range
            if not lo <= value <= hi:
                return f"{self.name}={value!r} is outside [{lo}, {hi}]"
        if self.check is not None:
            return self.check(value)
        return None


def declare_params(
    node: Node, params: Sequence[Param], on_change: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Declare ``params`` on ``node``, validate every later change, and return the current values.

    ``on_change`` is called with ``{name: new value}`` after an accepted change, so the node can
    apply it (rebuild a filter, switch a backend).
    """
    by_name = {p.name: p for p in params}
    values = {}
    for p in params:
        values[p.name] = node.declare_parameter(p.name, p.default, p.descriptor()).value
        problem = p.problem(values[p.name])
        if problem:
            raise GestureError(f"bad start-up parameter: {problem}")
    started = [False]

    def validate(changes: list) -> SetParametersResult:
        for change in changes:
            p = by_name.get(change.name)
            if p is None:
                continue
            if started[0] and not p.dynamic:
                return SetParametersResult(successful=False, reason=f"{p.name} is read at start-up only")
            problem = p.problem(change.value)
            if problem:
                node.get_logger().warning(f"rejected parameter change: {problem}")
                return SetParametersResult(successful=False, reason=problem)
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(validate)
    if on_change is not None:

        def applied(changes: list) -> None:
            mine = {c.name: c.value for c in changes if c.name in by_name}
            if mine:
                on_change(mine)

        node.add_post_set_parameters_callback(applied)
    started[0] = True
    return values


def guarded(node: Node, topic: str) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    """Decorator for subscription callbacks: log and drop messages that raise a GestureError."""

    def wrap(fn: Callable[[Any], None]) -> Callable[[Any], None]:
        @functools.wraps(fn)
        def callback(msg: Any) -> None:
            try:
                fn(msg)
            except GestureError as exc:
                node.get_logger().error(f"dropped a message on {topic}: {exc}")
            except Exception:  # a bug must not take the robot's node down with it
                node.get_logger().error(f"dropped a message on {topic}, internal error:\n{traceback.format_exc()}")

        return callback

    return wrap


def run_node(node_factory: Callable[[], Node], args: list[str] | None = None) -> int:
    """Standard ``main()`` body: init, build the node, spin until Ctrl-C or shutdown, clean up.

    A :class:`GestureError` while building the node (bad parameter file, missing URDF) is logged
    as one clear line and the process exits with status 1.
    """
    rclpy.init(args=args if args is not None else sys.argv)
    node = None
    try:
        node = node_factory()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (GestureError, ParameterException) as exc:  # bad configuration: one clear line, no traceback
        rclpy.logging.get_logger("gesture").fatal(f"{type(exc).__name__}: {exc}")
        return 1
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0
