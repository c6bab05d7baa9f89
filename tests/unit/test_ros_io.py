"""gesture_ros.ros_io at the ROS edge, on real in-process rclpy nodes: no callback ends the process
(subscriptions, timers, services, parameter checks), parameter refusals read well, repeated
problems are logged once with a count."""

from __future__ import annotations

import pytest

from gesture_core import node_settings as ns
from gesture_core.errors import ContractError

rclpy = pytest.importorskip("rclpy")
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from rcl_interfaces.srv import ListParameters  # noqa: E402

from gesture_ros.ros_io import ErrorLog, GestureNode, NodeSettings, guard  # noqa: E402


class Lines:
    """A logger that keeps what it is given."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def error(self, text: str) -> None:
        self.lines.append(("error", text))

    def warning(self, text: str) -> None:
        self.lines.append(("warning", text))


@pytest.fixture
def node():
    context = rclpy.Context()
    rclpy.init(context=context)
    n = GestureNode("ros_io_test", context=context)
    n._gesture_error_log = ErrorLog(Lines())  # see what is logged
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(n)
    n.spin = lambda times=20: [executor.spin_once(timeout_sec=0.05) for _ in range(times)]
    yield n
    executor.shutdown()
    n.destroy_node()
    rclpy.shutdown(context=context)


def logged(node) -> list[tuple[str, str]]:
    return node._gesture_error_log._logger.lines


def test_error_log_logs_a_kind_of_problem_once_then_counts_its_repeats(monkeypatch):
    clock = iter([0.0, 1.0, 2.0, 3.0, 12.0, 12.5])
    monkeypatch.setattr("gesture_ros.ros_io.time.monotonic", lambda: next(clock))
    lines = Lines()
    log = ErrorLog(lines, repeat_s=10.0)
    log.error("chunk at sample 1600 overlaps")
    log.error("chunk at sample 3200 overlaps")  # the same kind: numbers differ only
    log.error("chunk at sample 4800 overlaps")
    log.warning("gap of 5 samples")  # another kind
    log.error("chunk at sample 9600 overlaps")  # 12 s after the first: logged, with the count
    log.error("chunk at sample 9700 overlaps")
    assert lines.lines == [
        ("error", "chunk at sample 1600 overlaps"),
        ("warning", "gap of 5 samples"),
        ("error", "chunk at sample 9600 overlaps (2 more like it in the last 12 s)"),
    ]


def test_subscription_timer_and_service_callbacks_cannot_end_the_node(node):
    got: list[str] = []

    def on_message(msg: String) -> None:
        if msg.data == "bad":
            raise ContractError("the message is bad")
        if msg.data == "bug":
            raise ZeroDivisionError("a bug")
        got.append(msg.data)

    node.create_subscription(String, "ros_io_test/in", on_message, 10)
    pub = node.create_publisher(String, "ros_io_test/in", 10)
    ticks: list[int] = []

    def tick() -> None:
        ticks.append(1)
        raise OverflowError("math range error")  # as onsets=[1e308] did on the words-timeout path

    node.create_timer(0.01, tick)
    node.create_service(ListParameters, "ros_io_test/srv", lambda req, resp: 1 / 0)
    client = node.create_client(ListParameters, "ros_io_test/srv")
    for data in ("bad", "bug", "good"):
        pub.publish(String(data=data))
    node.spin(20)
    answer = client.call_async(ListParameters.Request())
    node.spin(20)
    assert got == ["good"] and len(ticks) > 2  # the timer kept running after raising
    text = "\n".join(t for _, t in logged(node))
    assert "dropped a message on ros_io_test/in: the message is bad" in text
    assert "internal error ZeroDivisionError: a bug" in text
    assert "dropped timer " in text and "OverflowError: math range error" in text
    assert sum("OverflowError" in t for _, t in logged(node)) == 1  # logged once, not once per tick
    assert answer.done() and list(answer.result().result.names) == []  # the default response
    assert "dropped a request on ros_io_test/srv, internal error ZeroDivisionError" in text
    assert guard(node, lambda req, resp: 1 / 0, "x", lambda req, resp: resp)(None, "default") == "default"


def test_parameter_refusals_are_readable_and_integers_are_taken_for_doubles(node):
    settings = NodeSettings(node, ns.SpeechSourceSettings)
    (wrong,) = node.set_parameters([Parameter("lead_time", value="soon")])
    assert not wrong.successful
    assert wrong.reason == "lead_time must be a number (double), got a string 'soon'"
    (wrong,) = node.set_parameters([Parameter("rate", value=1.5)])
    assert wrong.reason == "rate must be an integer, got a number (double) 1.5"
    (unknown,) = node.set_parameters([Parameter("lead_tme", value=1.0)])
    assert not unknown.successful and "has no parameter 'lead_tme' (did you mean lead_time" in unknown.reason
    result = node.set_parameters_atomically([Parameter("lead_time", value=2)])  # an integer for a double
    assert result.successful and settings.value.lead_time == 2.0
    assert node.get_parameter("lead_time").type_ == Parameter.Type.DOUBLE


def test_a_failing_check_refuses_the_change_and_a_failing_on_change_is_logged(node):
    def check(candidate: ns.SpeechSourceSettings) -> str | None:
        if candidate.rate == 300:
            raise OSError(36, "File name too long")  # as a 300-character checkpoint path did
        return None

    def on_change(value: ns.SpeechSourceSettings, names: set[str]) -> None:
        if value.rate == 301:
            raise RuntimeError("late trouble")

    settings = NodeSettings(node, ns.SpeechSourceSettings, check=check, on_change=on_change)
    (refused,) = node.set_parameters([Parameter("rate", value=300)])
    assert not refused.successful and "internal error OSError" in refused.reason and settings.value.rate == 160
    (accepted,) = node.set_parameters([Parameter("rate", value=301)])
    assert accepted.successful and settings.value.rate == 301
    assert any("RuntimeError: late trouble" in t for _, t in logged(node))
