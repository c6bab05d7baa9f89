"""What every node of the stack shares at its ROS edge: message classes, parameters, guarded callbacks.

- :func:`msg_class` turns a contract's ``pkg/msg/Name`` into the message class.
- :class:`GestureNode` is the base class of every node: **no callback can end the process**. Every
  subscription, timer and service callback it creates is guarded (:func:`guard`): an exception
  is logged with its reason and the input dropped, and the node lives on. A parameter change of an
  undeclared name or of the wrong type is refused with a readable reason (an integer given for a
  double is taken as that number).
- :class:`NodeSettings` declares a node's settings dataclass (``gesture_core.node_settings``) as
  parameters with descriptors (description, range, allowed values), refuses bad changes with a
  reason in the validating callback and swaps the validated instance atomically; rclpy itself
  enforces the numeric ranges.
- Repeated problems are not logged again and again: :class:`ErrorLog` logs a problem the first
  time and then at most once per :data:`REPEAT_S`, with the count of the repeats held back.
- :func:`run_node` is every node's ``main()``: it owns SIGINT and SIGTERM (see there), so a node
  stops within :data:`STOP_GRACE_S` of either, at any moment, with exit status 0.
- :func:`publisher_qos` is the QoS a publisher of a contract topic offers (durability and
  liveliness as the contract says); :func:`watch_publishers` tells a node when a publisher of a
  topic it depends on dies, stalls or leaves (the retargeter's and the simulator's safe stops).
  A :class:`GestureNode` with such publishers ends its process when one of its callbacks has run
  :data:`~gesture_core.contracts.STALL_S` (stuck): its consumers then see it gone, as a dead one,
  and ``gesture-bringup`` restarts it.
"""

from __future__ import annotations

import difflib
import faulthandler
import functools
import importlib
import logging
import os
import re
import signal
import sys
import threading
import time
import traceback
from collections import OrderedDict
from typing import Any, Callable, Generic, TypeVar

from gesture_core.contracts import STALL_S, Topic
from gesture_core.errors import ConfigError, GestureError
from gesture_core.settings import Item, Settings, specs
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
import rclpy
from rclpy.duration import Duration
from rclpy.event_handler import QoSLivelinessChangedInfo, SubscriptionEventCallbacks
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.signals import SignalHandlerOptions
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
        try:
            return self._validated(changes)
        except Exception as exc:  # a bug in a check refuses the change; it must not end the node
            self._node.get_logger().error(f"parameter check failed:\n{traceback.format_exc()}")
            return self._refuse(f"internal error {type(exc).__name__}: {exc}")

    def _validated(self, changes: list) -> SetParametersResult:
        mine = self._mine(changes)
        if not mine:  # another settings object's parameters (a backend's, say)
            return SetParametersResult(successful=True)
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
        """Swap in the accepted values; ``on_change`` must not fail (whatever can fail belongs in
        ``check``, which runs before the change is accepted), but if it does, it is logged."""
        mine = self._mine(changes)
        if mine:
            self.value = self.value.replace(**mine)
            if self._on_change is not None:
                guard(self._node, self._on_change, f"the change of {sorted(mine)}")(self.value, set(mine))


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


#: A problem already logged is logged again at most once per this many seconds (with a count).
REPEAT_S = 10.0
#: Distinct problems an :class:`ErrorLog` remembers (the oldest is forgotten first).
ERROR_KINDS = 256


class ErrorLog:
    """Error and warning lines of one node, each kind of problem logged the first time and then at most once per
    ``repeat_s`` with the number of repeats held back. Two lines are the same kind when they differ
    only in their numbers (``chunk at sample 1600`` and ``chunk at sample 3200``)."""

    def __init__(self, logger: Any, repeat_s: float = REPEAT_S):
        self._logger, self._repeat_s = logger, repeat_s
        self._seen: OrderedDict[str, tuple[float, int]] = OrderedDict()  # kind -> (last logged, held back)

    def error(self, text: str) -> None:
        if (line := self._due(text)) is not None:
            self._logger.error(line)

    def warning(self, text: str) -> None:
        # (a separate call site: rclpy's logger refuses two severities from one line of code)
        if (line := self._due(text)) is not None:
            self._logger.warning(line)

    def _due(self, text: str) -> str | None:
        """The line to log for ``text`` now (with the count of repeats held back), or None."""
        kind = re.sub(r"\d+(\.\d+)?", "#", text)
        now = time.monotonic()
        last, held = self._seen.pop(kind, (-float("inf"), 0))
        while len(self._seen) >= ERROR_KINDS:
            self._seen.popitem(last=False)
        if now - last < self._repeat_s:
            self._seen[kind] = (last, held + 1)
            return None
        self._seen[kind] = (now, 0)
        return text + (f" ({held} more like it in the last {now - last:.0f} s)" if held else "")


def error_log(node: Node) -> ErrorLog:
    """The :class:`ErrorLog` of ``node`` (made on first use)."""
    log = getattr(node, "_gesture_error_log", None)
    if log is None:
        log = ErrorLog(node.get_logger())
        node._gesture_error_log = log  # type: ignore[attr-defined]
    return log


F = TypeVar("F", bound=Callable[..., Any])


def guard(node: Node, fn: F, what: str, fallback: Callable[..., Any] | None = None) -> F:
    """``fn`` that cannot raise: a :class:`GestureError` (bad input) is logged with its reason, any
    other exception (a bug) with its traceback, through the node's :class:`ErrorLog`; the call then
    returns ``fallback(*args)`` (None without one). ``what`` names the work (``a message on
    speech/audio``, ``timer _tick``). ``functools.wraps`` keeps ``fn``'s signature, which rclpy
    inspects (a timer callback taking ``TimerInfo``)."""

    @functools.wraps(fn)
    def guarded_call(*args: Any, **kwargs: Any) -> Any:
        began = time.monotonic()
        outermost = getattr(node, "_busy_since", None) is None
        if outermost:
            node._busy_since = began  # type: ignore[attr-defined]
            if getattr(node, "_stall_watch", False):  # see GestureNode: a stuck callback ends the process
                faulthandler.dump_traceback_later(STALL_S, exit=True)
        try:
            return fn(*args, **kwargs)
        except GestureError as exc:
            error_log(node).error(f"dropped {what}: {exc}")
        except Exception as exc:  # a bug must not take the robot's node down with it
            error_log(node).error(f"dropped {what}, internal error {type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        finally:
            if outermost:
                if getattr(node, "_stall_watch", False):
                    faulthandler.cancel_dump_traceback_later()
                node._busy_since = None  # type: ignore[attr-defined]
                _check_stall(node, what, time.monotonic() - began)
        return fallback(*args, **kwargs) if fallback is not None else None

    return guarded_call  # type: ignore[return-value]


def _check_stall(node: Node, what: str, took: float) -> None:
    """Warn when a callback of a node with a stall limit ran more than half of ``STALL_S``."""
    if getattr(node, "_stall_watch", False) and took > STALL_S / 2:
        error_log(node).warning(
            f"{what} took {took:.2f} s; at {STALL_S} s the node is taken for stuck and its process ends"
        )


def publisher_qos(topic: Topic) -> QoSProfile:
    """What a publisher of ``topic`` offers: reliable, the contract's depth, transient local if the
    topic is ``durable``, automatic liveliness with the contract's lease if it has one (asserted
    by DDS while the process lives; a :class:`GestureNode` ends a process stuck in a callback).
    Every subscriber that asks for the defaults (reliable, volatile, no lease) is served.
    (Manual liveliness, asserted by the node, would tell a stuck node without ending it, but
    Fast DDS, the default RMW here, delivers no manual assertion: its readers saw a writer alive
    only while it wrote data.)"""
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
    within the lease; a :class:`GestureNode` stuck in a callback ends its process after
    ``STALL_S``) or it left the graph. Returns the watching subscription, which receives the
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
            stopped = info.not_alive_count_change > 0
            why = "stopped responding (killed, frozen or stuck)" if stopped else "left"
            on_gone(f"a publisher of {topic.name} {why}")

    events = SubscriptionEventCallbacks(liveliness=changed, incompatible_qos=lambda _info: None)
    return node.create_subscription(
        msg_class(topic), topic.name, lambda _data: None, qos, raw=True, event_callbacks=events
    )


def guarded(node: Node, topic: str) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    """Decorator for subscription callbacks: log and drop messages that raise (see :func:`guard`)."""

    def wrap(fn: Callable[[Any], None]) -> Callable[[Any], None]:
        return guard(node, fn, f"a message on {topic}")

    return wrap


#: Longest time (s) from SIGINT/SIGTERM to the end of a node process.
STOP_GRACE_S = 1.5
#: Longest wait (s) of the executor for work: how late a stop request is noticed while idle.
SPIN_PERIOD_S = 0.1


class Stop(BaseException):
    """Raised in the main thread by the first SIGINT or SIGTERM (a BaseException, like
    KeyboardInterrupt: no ``except Exception`` of a callback swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _StopSignals:
    """SIGINT and SIGTERM handling of a node process (installed by :func:`run_node`).

    The first signal raises :class:`Stop` in the main thread, wherever it is: in the node's
    constructor (a numba or onnxruntime warm-up, a model load), in a callback mid-utterance, or in
    the spin loop; later signals are ignored, so a second Ctrl-C (the terminal sends one to the
    whole process group, ``ros2 launch`` another) cannot interrupt the clean-up. A watchdog thread,
    woken through :func:`signal.set_wakeup_fd` (written by the interpreter's C-level handler even
    while the main thread is inside a long native call, e.g. loading a Vosk model), ends the
    process :data:`STOP_GRACE_S` after the first signal if the main thread has not by then.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._read, write = os.pipe()
        os.set_blocking(write, False)
        signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)
        threading.Thread(target=self._watchdog, name="stop-watchdog", daemon=True).start()

    def _handle(self, signum: int, _frame: object) -> None:
        if self.signum is None:
            self.signum = signum
            raise Stop(signum)

    def _watchdog(self) -> None:
        os.read(self._read, 1)  # blocks (without the GIL) until the first signal
        time.sleep(STOP_GRACE_S)
        rclpy.logging.get_logger("gesture").info(f"still busy {STOP_GRACE_S} s after the stop signal: exiting now")
        _exit_now(0)


def _exit_now(status: int) -> None:
    """End the process at once, after flushing the log handlers and stdio: the node, its DDS
    participant and its files are closed already; what interpreter finalization would still do
    (tearing down numba's LLVM and thousands of modules: 1-3 s on a loaded 2-core machine) frees
    only memory."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


#: How a parameter type is named in a refusal.
_TYPE_WORDS = {
    Parameter.Type.NOT_SET: "no value",
    Parameter.Type.BOOL: "a bool (true/false)",
    Parameter.Type.INTEGER: "an integer",
    Parameter.Type.DOUBLE: "a number (double)",
    Parameter.Type.STRING: "a string",
    Parameter.Type.BYTE_ARRAY: "a byte array",
    Parameter.Type.BOOL_ARRAY: "a list of bools",
    Parameter.Type.INTEGER_ARRAY: "a list of integers",
    Parameter.Type.DOUBLE_ARRAY: "a list of numbers",
    Parameter.Type.STRING_ARRAY: "a list of strings",
}


class GestureNode(Node):
    """Base class of every node of the stack: no callback can end the process.

    Subscriptions, timers and services made with ``create_*`` get guarded callbacks (:func:`guard`);
    a parameter change naming an undeclared parameter or giving a value of the wrong type is
    refused with a readable reason (rclpy's own says ``expected '3' got '4'``); an integer given
    for a double parameter is taken as that number (``ros2 param set /retarget speed_scale 1``).

    **Stalls**: a node with a publisher that offers a liveliness lease (:func:`publisher_qos` of
    a topic with ``lease_s``: its consumers watch it) ends its process when one of its callbacks
    has run for :data:`~gesture_core.contracts.STALL_S` (a loop that never ends, a blocking
    call): :func:`faulthandler.dump_traceback_later` prints where every thread is and exits with
    status 1, from a C thread that needs no GIL (a native call holding it is caught too). Its
    consumers then see it gone within the lease (:func:`watch_publishers`: the robot rests) and
    ``gesture-bringup`` restarts it. Liveliness itself is asserted by DDS (see
    :func:`publisher_qos`). A callback that ends after more than half of ``STALL_S`` is logged.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._stall_watch = False  # set by the first publisher with a lease (Node.__init__ makes publishers)
        self._busy_since: float | None = None  # monotonic start of the callback running now
        super().__init__(*args, **kwargs)

    def create_publisher(self, msg_type: Any, topic: str, qos_profile: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(qos_profile, QoSProfile) and qos_profile.liveliness_lease_duration.nanoseconds > 0:
            self._stall_watch = True
        return super().create_publisher(msg_type, topic, qos_profile, *args, **kwargs)

    def create_subscription(self, msg_type: Any, topic: str, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return super().create_subscription(msg_type, topic, guard(self, callback, f"a message on {topic}"), *args, **kwargs)

    def create_timer(self, timer_period_sec: float, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        what = f"timer {getattr(callback, '__qualname__', callback)!s}"
        return super().create_timer(timer_period_sec, guard(self, callback, what), *args, **kwargs)

    def create_service(self, srv_type: Any, srv_name: str, callback: Callable[..., Any], **kwargs: Any) -> Any:
        # a failed call answers with the (default) response it was given
        return super().create_service(
            srv_type, srv_name, guard(self, callback, f"a request on {srv_name}", lambda _req, resp: resp), **kwargs
        )

    def set_parameters(self, parameter_list: list[Parameter]) -> list[SetParametersResult]:
        return [self.set_parameters_atomically([p]) for p in parameter_list]

    def set_parameters_atomically(self, parameter_list: list[Parameter]) -> SetParametersResult:
        checked, problem = self._readable_check(parameter_list)
        if problem is not None:
            self.get_logger().warning(f"rejected parameter change: {problem}")
            return SetParametersResult(successful=False, reason=problem)
        return super().set_parameters_atomically(checked)

    def _readable_check(self, parameter_list: list[Parameter]) -> tuple[list[Parameter], str | None]:
        """The parameters to set (integers for doubles made doubles), or why they are refused."""
        checked = []
        for p in parameter_list:
            if not self.has_parameter(p.name):
                names = self.list_parameters([], 0).names
                near = difflib.get_close_matches(p.name, names, n=3)
                hint = f" (did you mean {', '.join(near)}?)" if near else " (`ros2 param list` shows them)"
                return [], f"node {self.get_name()} has no parameter {_short(p.name)}{hint}"
            want = Parameter.Type(self.describe_parameter(p.name).type)
            if p.type_ == Parameter.Type.NOT_SET:
                return [], f"{p.name} cannot be unset: it must be {_TYPE_WORDS[want]}"
            if p.type_ != want:
                if (p.type_, want) != (Parameter.Type.INTEGER, Parameter.Type.DOUBLE):
                    return [], f"{p.name} must be {_TYPE_WORDS[want]}, got {_TYPE_WORDS[p.type_]} {_short(p.value)}"
                p = Parameter(p.name, Parameter.Type.DOUBLE, float(p.value))
            checked.append(p)
        return checked, None


def _short(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut to its first ``limit`` characters and an ellipsis when longer."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def run_node(node_factory: Callable[[], Node], args: list[str] | None = None) -> int:
    """Standard ``main()`` body: init, build the node, spin until SIGINT/SIGTERM, clean up.

    Signals are the node's own (:class:`_StopSignals`; rclpy's handlers are not installed: they
    raise KeyboardInterrupt anywhere, also in the clean-up of a second Ctrl-C, and their guard
    condition outlives the executor): the first one stops the node wherever it is; the executor
    waits at most :data:`SPIN_PERIOD_S` for work, so an idle node notices at once. The clean-up
    destroys the node (its publishers, subscriptions and DDS participant; the recorder closes its
    file), shuts the context down and ends the process with status 0 without interpreter
    finalization (:func:`_exit_now`), all within :data:`STOP_GRACE_S`.

    A :class:`GestureError` while building the node (bad parameter file, missing URDF) is logged
    as one clear line and the process exits with status 1.
    """
    stop = _StopSignals()
    context = rclpy.utilities.get_default_context()
    node: Node | None = None
    executor: SingleThreadedExecutor | None = None
    status = 0
    try:
        rclpy.init(args=args if args is not None else sys.argv, signal_handler_options=SignalHandlerOptions.NO)
        rclpy.logging.get_logger("gesture").debug("building the node")  # --log-level gesture:=debug shows it
        node = node_factory()
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        while context.ok():
            executor.spin_once(timeout_sec=SPIN_PERIOD_S)
    except (Stop, KeyboardInterrupt, ExternalShutdownException):
        pass
    except (GestureError, ParameterException) as exc:  # bad configuration: one clear line, no traceback
        rclpy.logging.get_logger("gesture").fatal(f"{type(exc).__name__}: {exc}")
        status = 1
    finally:
        try:
            if executor is not None:
                executor.shutdown(timeout_sec=0)
            if node is not None:
                node.destroy_node()
            context.try_shutdown()  # also destroys a node whose constructor was interrupted
        except (Stop, KeyboardInterrupt):  # a signal before the handler swallowed later ones
            pass
    if stop.signum is not None:
        _exit_now(status)
    return status

