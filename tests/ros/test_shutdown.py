"""Every node stops within 2 s of SIGINT or SIGTERM during its start-up warm-up, with status 0 and
a clean log (gesture_ros.ros_io.run_node).

Each node is started as the graph starts it and signalled the moment its log says the warm-up
begins: the Vosk model load (a native call that holds the main thread: the watchdog ends it), the
numba and onnxruntime warm-ups, the MuJoCo model builds, or, for the nodes without a warm-up, the
node's construction (``building the node``, logged at debug level for the ``gesture`` logger).
Mid-utterance signals are sent to the whole graph started from a colcon install
(``tests/e2e/test_installed_layout.py``).
"""

from __future__ import annotations

import signal
import sys
import time

import pytest
from gesture_bringup import graph
from stopping import end_times, problems

#: When to signal each node: the log line that starts its warm-up, and the signal (both signals
#: are covered for every node together with the mid-utterance test of the installed graph).
WARM_UP = {
    "asr": ("loading the Vosk model", signal.SIGINT),
    "audio_features": ("warming up: librosa", signal.SIGTERM),
    "gesture_generator": ("warming up the generators", signal.SIGINT),
    "mujoco_sim": ("building the node", signal.SIGTERM),
    "retarget": ("building the node", signal.SIGINT),
    "speech_source": ("building the node", signal.SIGTERM),
    "robot_description": ("building the node", signal.SIGINT),
    "recorder": ("building the node", signal.SIGTERM),
}


def test_every_node_stops_cleanly_during_its_warm_up(ros, tmp_path):
    full = graph.with_defaults({"record": str(tmp_path / "rec"), "render": "false"})
    specs = {s.name: s for s in graph.build_graph(full, installed=lambda _: False)}
    assert set(specs) == set(WARM_UP), "a node of the graph has no warm-up signal here"
    # the graph's command lines, with the gesture logger at debug level (see WARM_UP)
    procs = {}
    for process in graph.plan(full, installed=lambda _: False):
        spec = process.spec
        args = graph.ros_arguments(process, tmp_path / "params") + ["--log-level", "gesture:=debug"]
        procs[spec.name] = ros.start(spec.module, args=args)
    pending = dict(procs)
    sent: dict[str, float] = {}
    ended: dict[str, float | None] = {}
    deadline = time.monotonic() + 240
    while pending and time.monotonic() < deadline:
        for name, proc in list(pending.items()):
            line, sig = WARM_UP[name]
            if line in proc.log():
                proc.proc.send_signal(sig)
                sent[name] = time.monotonic()
                del pending[name]
            elif not proc.alive():
                pytest.fail(f"{name} ended before its warm-up:\n{proc.log()}")
        for name in set(sent) - set(ended):  # those signalled already: when they end
            if procs[name].proc.poll() is not None:
                ended[name] = time.monotonic() - sent[name]
        time.sleep(0.005)
    assert not pending, f"no warm-up line from {sorted(pending)}"
    ended |= end_times({n: p.proc for n, p in procs.items() if n not in ended}, sent)
    bad = [line for name, p in procs.items() for line in problems(name, p.proc, ended[name], p.log())]
    assert not bad, "\n".join(bad) + "".join(f"\n--- {n}\n{p.log()}" for n, p in procs.items())


def catches_sigterm(pid: int) -> bool:
    """Whether process ``pid`` has a handler for SIGTERM (``SigCgt`` in ``/proc/<pid>/status``):
    Python catches only SIGINT by itself; ``gesture_ros._early_stop`` adds SIGTERM when the node
    process imports ``gesture_ros``, before the node module's own imports."""
    try:
        status = open(f"/proc/{pid}/status").read()
    except OSError:
        return False
    mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(mask & (1 << (signal.SIGTERM - 1)))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/status")
def test_every_node_stops_cleanly_while_its_modules_load(ros, tmp_path):
    """A signal before run_node (the node module's imports: rclpy, numba, MuJoCo, ...) ends the
    process at once with status 0 (gesture_ros._early_stop), SIGINT and SIGTERM alike. Each node is
    signalled the moment it catches SIGTERM (the early handlers are in place); a signal before that,
    in the interpreter's own start-up (~0.2 s, longer on a loaded machine), meets Python's defaults."""
    full = graph.with_defaults({"record": str(tmp_path / "rec"), "render": "false"})
    procs, sent, ended = {}, {}, {}
    for i, process in enumerate(graph.plan(full, installed=lambda _: False)):
        args = graph.ros_arguments(process, tmp_path / "params") + ["--log-level", "gesture:=debug"]
        procs[process.spec.name] = proc = ros.start(process.spec.module, args=args)
        deadline = time.monotonic() + 60
        while not catches_sigterm(proc.proc.pid):
            assert proc.alive(), f"{process.spec.name} ended before it caught SIGTERM:\n{proc.log()}"
            assert time.monotonic() < deadline, f"{process.spec.name} caught no SIGTERM in 60 s"
            end_times({n: p.proc for n, p in procs.items()}, sent, took=ended, until=time.monotonic() + 0.002)
        proc.proc.send_signal((signal.SIGINT, signal.SIGTERM)[i % 2])
        sent[process.spec.name] = time.monotonic()
    ended = end_times({n: p.proc for n, p in procs.items()}, sent, took=ended)
    bad = [line for name, p in procs.items() for line in problems(name, p.proc, ended[name], p.log())]
    assert not bad, "\n".join(bad) + "".join(f"\n--- {n}\n{p.log()}" for n, p in procs.items())
    if all("building the node" in p.log() for p in procs.values()):
        pytest.skip("every node had imported its modules when it caught SIGTERM: nothing signalled early")


def test_early_stop_applies_to_node_processes_only():
    """The console scripts of isolated and merged installs and ``python -m`` node runs get the
    early handlers; pytest, gesture-bringup and other importers of gesture_ros keep theirs."""
    from gesture_ros._early_stop import node_process

    py = sys.executable
    for script in ("/ws/install/gesture_ros/lib/gesture_ros/asr", "/ws/install/lib/gesture_ros/retarget"):
        assert node_process([py, script, "--ros-args"], script)
    assert node_process([py, "-u", "-m", "gesture_ros.sim_node", "--ros-args"], "-m")
    assert not node_process([py, "-m", "pytest", "-q"], "-m")
    assert not node_process([py, "-m", "gesture_ros.ros_io"], "-m")
    assert not node_process([py, "/venv/bin/gesture-bringup"], "/venv/bin/gesture-bringup")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # this process: untouched
