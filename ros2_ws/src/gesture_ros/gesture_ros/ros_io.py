"""What every node of the stack shares at its ROS edge: message classes, parameters, guarded callbacks.

- :func:`msg_class` turns a contract's ``pkg/msg/Name`` into the message class.
- :class:`NodeSettings` declares a node's settings dataclass (``gesture_core.node_settings``) as
  parameters with descriptors (description, range, allowed values), refuses bad changes with a
  reason and swaps the validated instance atomically; rclpy itself enforces the numeric ranges.
- :func:`guarded` wraps a subscription callback: a :class:`~gesture_core.errors.GestureError`
  (a message that breaks its contract, say) is logged with the topic and dropped; the node lives on.
- :func:`publisher_qos` is the QoS a publisher of a contract topic offers (durability and
  liveliness as the contract says); :func:`watch_publishers` tells a node when a publisher of a
  topic it depends on dies or leaves (the retargeter's and the simulator's safe stops).
"""

from __future__ import annotations

import functools
import importlib
import sys
import traceback
from typing import Any, Callable, Generic, TypeVar

from gesture_core.contracts import Topic
from gesture_core.errors import ConfigError, GestureError
from gesture_core.settings import Item, Settings, specs
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
import rclpy
from rclpy.duration import Duration
from rclpy.event_handler import QoSLivelinessChangedInfo, SubscriptionEventCallbacks
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, LivelinessPolicy, QoSProfile, ReliabilityPolicy

S = TypeVar("S", bound=Settings)


def msg_class(topic: Topic | str) -> type:
    """The message class of a topic contract or of a type name, e.g. ``sensor_msgs/msg/Image`` -> ``Image``."""
    pkg, kind, name = (topic.msg_type if isinstance(topic, Topic) else topic).split("/")
    return getattr(importlib.import_module(f"{pkg}.{kind}"), name)


class NodeSettings(Generic[S]):
    """A node's settings (a :class:`~gesture_core.settings.Settings` dataclass of the core) as ROS
    parameters: declared with their descriptors, validated as a whole on every change, swapped
    atomically. Read them as ``settings.value.<name>`` (typed; a typo is an AttributeError at once).

    ``prefix``: parameter name prefix (a backend's settings: ``diffusion.``); ``defaults``: values
    that replace the class defaults (the retargeter's come from its robot config); ``check``: an
    extra rule on a candidate (e.g. an installed voice) returning why it is refused, or None;
    ``on_change(new, changed_names)`` runs after an accepted change.
    """

    def __init__(
        self,
        node: Node,
        cls: type[S],
        *,
        prefix: str = "",
        defaults: dict[str, Any] | None = None,
        check: Callable[[S], str | None] | None = None,
        on_change: Callable[[S, set[str]], None] | None = None,
    ):
        self._node, self._prefix, self._check, self._on_change = node, prefix, check, on_change
        self._items = {item.name: item for item in specs(cls)}
        values = {}
        for name, item in self._items.items():
            default = (defaults or {}).get(name, item.default)
            values[name] = node.declare_parameter(prefix + name, default, descriptor(item)).value
        try:
            self.value: S = cls(**values)
            problem = check(self.value) if check is not None else None
        except ConfigError as exc:
            problem = str(exc)
        if problem:
            raise ConfigError(f"bad start-up parameter: {prefix}{problem}")
        node.add_on_set_parameters_callback(self._validate)
        node.add_post_set_parameters_callback(self._apply)

    def _mine(self, changes: list) -> dict[str, Any]:
        n = len(self._prefix)
        return {ch.name[n:]: ch.value for ch in changes if ch.name.startswith(self._prefix) and ch.name[n:] in self._items}

    def _validate(self, changes: list) -> SetParametersResult:
        mine = self._mine(changes)
        static = [name for name in mine if not self._items[name].spec.dynamic and mine[name] != getattr(self.value, name)]
        if static:
            return self._refuse(f"{', '.join(self._prefix + n for n in static)}: read at start-up only")
        try:
            candidate = self.value.replace(**mine)
            problem = self._check(candidate) if self._check is not None else None
        except ConfigError as exc:
            problem = str(exc)
        return self._refuse(self._prefix + problem) if problem else SetParametersResult(successful=True)

    def _refuse(self, reason: str) -> SetParametersResult:
        self._node.get_logger().warning(f"rejected parameter change: {reason}")
        return SetParametersResult(successful=False, reason=reason)

    def _apply(self, changes: list) -> None:
        mine = self._mine(changes)
        if mine:
            self.value = self.value.replace(**mine)
            if self._on_change is not None:
                self._on_change(self.value, set(mine))


def descriptor(item: Item) -> ParameterDescriptor:
    """The ROS parameter descriptor of a setting: description, numeric range, allowed values."""
    spec = item.spec
    d = ParameterDescriptor(description=spec.description, read_only=False)
    notes = []
    if spec.choices is not None:
        notes.append("one of: " + ", ".join(repr(c) for c in spec.choices))
    if not spec.dynamic:
        notes.append("read at start-up only")
    d.additional_constraints = "; ".join(notes)
    if spec.range is not None and not isinstance(item.default, bool):
        lo, hi = spec.range
        if isinstance(item.default, int):
            d.integer_range = [IntegerRange(from_value=int(lo), to_value=int(hi), step=0)]
        else:
            d.floating_point_range = [FloatingPointRange(from_value=float(lo), to_value=float(hi), step=0.0)]
    return d


def publisher_qos(topic: Topic) -> QoSProfile:
    """What a publisher of ``topic`` offers: reliable, the contract's depth, transient local if the
    topic is ``durable``, automatic liveliness with the contract's lease if it has one. Every
    subscriber that asks for the defaults (reliable, volatile, no lease) is served."""
    qos = QoSProfile(depth=topic.depth, reliability=ReliabilityPolicy.RELIABLE)
    if topic.durable:
        qos.durability = DurabilityPolicy.TRANSIENT_LOCAL
    if topic.lease_s is not None:
        qos.liveliness = LivelinessPolicy.AUTOMATIC
        qos.liveliness_lease_duration = Duration(seconds=topic.lease_s)
    return qos


def watch_publishers(node: Node, topic: Topic, on_gone: Callable[[str], None]) -> Any:
    """Call ``on_gone(why)`` whenever a publisher of ``topic`` (one that offers the contract's
    liveliness lease, as the graph's nodes do) stops: its process died or froze (no liveliness
    within the lease) or it left the graph. Returns the watching subscription, which receives the
    topic's messages too (raw, dropped unread); publishers without the lease (a test, the CLI)
    are not watched."""
    if topic.lease_s is None:
        raise ValueError(f"{topic.name} has no liveliness contract to watch")
    qos = QoSProfile(
        depth=1,
        reliability=ReliabilityPolicy.BEST_EFFORT,
        liveliness=LivelinessPolicy.AUTOMATIC,
        liveliness_lease_duration=Duration(seconds=topic.lease_s),
    )

    def changed(info: QoSLivelinessChangedInfo) -> None:
        if info.alive_count_change < 0:
            why = "stopped responding (killed or frozen)" if info.not_alive_count_change > 0 else "left"
            on_gone(f"a publisher of {topic.name} {why}")

    events = SubscriptionEventCallbacks(liveliness=changed, incompatible_qos=lambda _info: None)
    return node.create_subscription(
        msg_class(topic), topic.name, lambda _data: None, qos, raw=True, event_callbacks=events
    )


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
