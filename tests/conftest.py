"""Shared test fixtures.

Tests live in ``tests/unit`` (in-process: core library, contracts, files, generated docs),
``tests/ros`` (nodes as processes over DDS) and ``tests/e2e`` (the whole graph: ``gesture-bringup``,
the ``say`` action); each folder is a marker (``pytest -m unit``).

ROS tests run real nodes as separate processes over real DDS. Each pytest run picks its own
``ROS_DOMAIN_ID`` and keeps discovery on localhost, so parallel runs on one machine don't see each
other. Node processes are started with this interpreter (``sys.executable``), which the rclpy
wheels need, and are always stopped (SIGINT, then SIGKILL) when the test ends; their logs are
printed when a test fails.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from gesture_core import contracts as c
from gesture_core.speech.audio_io import chunk_audio

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


#: Test folders, each a marker: ``pytest -m unit`` runs the in-process tests only.
KINDS = ("unit", "ros", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its folder's kind (``tests/unit``, ``tests/ros``, ``tests/e2e``)."""
    for item in items:
        kind = item.path.parent.name
        if kind in KINDS:
            item.add_marker(getattr(pytest.mark, kind))


def pytest_configure(config: pytest.Config) -> None:
    os.environ["ROS_DOMAIN_ID"] = os.environ.get("GESTURE_TEST_DOMAIN_ID", str(random.randint(1, 200)))
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ.setdefault("MUJOCO_GL", "egl")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


def _speech_with_clicks(
    duration: float, speech: tuple[float, float] | None = None, clicks: tuple[float, ...] = (), level: float = 1.0
) -> np.ndarray:
    """(N,) float32 16 kHz speech-like test audio made here: a 140 Hz harmonic tone over ``speech``
    (start, end s; default: all of it), faded in and out over 0.3 s so it has no sharp onset of its
    own, plus 30 ms noise clicks (strong onsets) at ``clicks`` (s); everything scaled by ``level``."""
    sr = 16_000
    t = np.arange(int(duration * sr)) / sr
    start, end = speech if speech is not None else (0.0, duration)
    fade = np.clip((t - start) / 0.3, 0, 1) * np.clip((end - t) / 0.3, 0, 1)
    y = 0.05 * fade * sum(np.sin(2 * np.pi * 140 * h * t) / h for h in range(1, 6))
    rng = np.random.default_rng(0)
    n = int(0.03 * sr)
    for c in clicks:
        i = int(c * sr)
        click = 0.4 * rng.standard_normal(n) * np.exp(-np.arange(n) / (0.008 * sr))
        y[i : i + n] += click[: max(0, y.size - i)]
    return np.clip(level * y, -1, 1).astype(np.float32)


@pytest.fixture(scope="session")
def speech_with_clicks() -> Callable[..., Any]:
    """The synthetic speech generator :func:`_speech_with_clicks` (tone + clicks at known times)."""
    return _speech_with_clicks


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """One torch thread while the module's tests run (``pytestmark = pytest.mark.usefixtures(...)``):
    this machine is shared by parallel test runs, and two torch threads on a loaded 2-core CPU spin."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the project; tests that need it skip when it is absent."""
    if not (SHARED / "docs" / "facts.md").exists():
        pytest.skip(f"../shared not found at {SHARED} (reference data is not part of the project)")
    return SHARED


class NodeProcess:
    """A node started as its own process: ``python -m gesture_ros.<module> --ros-args ...``."""

    def __init__(self, module: str, args: list[str], log_path: Path, env: dict[str, str] | None = None):
        self.module = module
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", module, *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **env} if env else None,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        if not self._log.closed:  # closed once stop() ran (the fixture prints logs after that)
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> int:
        """SIGINT, wait, then SIGKILL the whole process group. Returns the exit code."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


class RosHarness:
    """An in-test rclpy node plus the node processes under test."""

    def __init__(self, tmp_path: Path):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.rclpy = rclpy
        self.tmp_path = tmp_path
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(f"test_harness_{os.getpid()}", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.procs: list[NodeProcess] = []
        self._param_clients: dict[str, Any] = {}
        self._publishers: dict[str, Any] = {}

    def start(
        self,
        module: str,
        params: dict[str, Any] | None = None,
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> NodeProcess:
        """Start ``module`` (e.g. ``gesture_ros.retarget_node``) with ``-p name:=value`` parameters
        (and ``env`` added to this process's environment)."""
        ros_args = ["--ros-args"]
        for k, v in (params or {}).items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            ros_args += ["-p", f"{k}:={v}"]
        name = module.rsplit(".", 1)[-1]
        proc = NodeProcess(module, [*(args or []), *ros_args], self.tmp_path / f"{name}-{len(self.procs)}.log", env)
        self.procs.append(proc)
        return proc

    def spin_until(self, predicate: Callable[[], bool], timeout: float, what: str = "condition") -> None:
        """Spin the harness node until ``predicate()`` is true; fail the test after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.05)
            if predicate():
                return
            for p in self.procs:
                if not p.alive():
                    pytest.fail(f"{p.module} exited with {p.proc.returncode} while waiting for {what}:\n{p.log()}")
        pytest.fail(f"timed out after {timeout} s waiting for {what}")

    def spin_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.05)

    def wait_for_subscribers(self, publisher: Any, n: int = 1, timeout: float = 20.0) -> None:
        self.spin_until(lambda: publisher.get_subscription_count() >= n, timeout, f"{n} subscriber(s) on {publisher.topic_name}")

    def wait_for_publishers(self, topic: str, n: int = 1, timeout: float = 20.0) -> None:
        self.spin_until(lambda: self.node.count_publishers(topic) >= n, timeout, f"{n} publisher(s) on {topic}")

    def publisher(self, topic: c.Topic) -> Any:
        """The harness node's publisher on a contract topic (created on first use)."""
        from gesture_ros.ros_io import msg_class

        pub = self._publishers.get(topic.name)
        if pub is None:
            pub = self.node.create_publisher(msg_class(topic), topic.name, topic.depth)
            self._publishers[topic.name] = pub
        return pub

    def publish_utterance(
        self,
        uid: str,
        audio: np.ndarray,
        source: str = "tts",
        start_ns: int | None = None,
        words: list[c.Word] | None = None,
        words_known: bool | None = None,
        language: str | None = None,
        chunk_samples: int = c.AUDIO_SAMPLE_RATE // 10,
    ) -> int:
        """Publish utterance ``uid`` as a speech source does, with the contract encoders, on the
        :meth:`publisher` topics: the start event, the final ``words`` if given (source ``tts`` if
        the words are known, else ``asr``), the (N,) float32 16 kHz ``audio`` in ``chunk_samples``
        chunks stamped on the utterance's timeline, and the end event.

        ``start_ns``: ROS time (ns) the audio starts playing (default: now); ``words_known``
        defaults to ``source == "tts"``. Returns ``start_ns``.
        """
        from gesture_ros.ros_io import msg_class

        if start_ns is None:
            start_ns = self.node.get_clock().now().nanoseconds
        known = source == "tts" if words_known is None else words_known
        events, audio_pub = self.publisher(c.UTTERANCE), self.publisher(c.AUDIO)
        start = c.UtteranceEvent(uid, "start", start_ns, source, language=language, words_known=known)
        events.publish(c.encode_utterance(events.msg_type(), start))
        if words is not None:
            words_pub = self.publisher(c.WORDS)
            timings = c.WordTimings(uid, words, final=True, source="tts" if known else "asr")
            words_pub.publish(c.encode_words(words_pub.msg_type(), timings, msg_class(c.WORD_MSG)))
        for offset, samples in chunk_audio(audio, chunk_samples):
            stamp = start_ns + offset * c.NS_PER_S // c.AUDIO_SAMPLE_RATE
            audio_pub.publish(c.encode_audio(audio_pub.msg_type(), c.AudioChunk(uid, stamp, samples, offset)))
        end = c.UtteranceEvent(uid, "end", start_ns, source, words_known=known, n_samples=audio.size)
        events.publish(c.encode_utterance(events.msg_type(), end))
        return start_ns

    def set_parameters(self, node_name: str, timeout: float = 30.0, **values: Any) -> list:
        """Set parameters of the running node ``node_name`` through its parameter service; returns
        one ``SetParametersResult`` (``successful``, ``reason``) per value, in order."""
        from rclpy.parameter import Parameter
        from rclpy.parameter_client import AsyncParameterClient

        client = self._param_clients.get(node_name)
        if client is None:
            client = self._param_clients[node_name] = AsyncParameterClient(self.node, node_name)
        self.spin_until(client.services_are_ready, timeout, f"the parameter services of {node_name}")
        future = client.set_parameters([Parameter(k, value=v) for k, v in values.items()])
        self.spin_until(future.done, timeout, f"set_parameters {values} on {node_name}")
        return list(future.result().results)

    def close(self) -> list[NodeProcess]:
        """Destroy the harness node and its context, then stop the node processes.

        In this order because FastDDS crashed (SIGSEGV in ``destroy_node``, once in a CI run) when
        the harness's participant was destroyed while it was still processing the departure of the
        processes just stopped; the node processes handle a departing peer as a normal event.
        """
        self.executor.shutdown()
        self.node.destroy_node()
        self.rclpy.shutdown(context=self.context)
        for p in self.procs:
            p.stop()
        return self.procs


@pytest.fixture
def ros(tmp_path: Path, request: pytest.FixtureRequest):
    """A :class:`RosHarness`; prints the node processes' logs if the test failed."""
    harness = RosHarness(tmp_path)
    yield harness
    procs = harness.close()
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        for p in procs:
            print(f"\n----- log of {p.module} -----\n{p.log()}")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
