"""gesture-bringup's supervisor with real child processes: a crashed node is restarted with
back-off up to a limit (and says so), and a stop ends the simulator last, after the others."""

from __future__ import annotations

import logging
import sys
import time

import pytest

gesture_bringup = pytest.importorskip("gesture_bringup.supervisor")
Supervisor = gesture_bringup.Supervisor

#: A child that prints when it starts and when it gets SIGINT (with the time), then exits.
CHILD = """
import signal, sys, time
print("up", flush=True)
def stop(*_):
    print(f"SIGINT at {time.monotonic():.3f}", flush=True)
    sys.exit(0)
signal.signal(signal.SIGINT, stop)
if sys.argv[1] == "crash":
    sys.exit(3)
time.sleep(60)
"""


def poll(sup: Supervisor, seconds: float):
    """Call ``failed()`` like the director does, for ``seconds``; the failed child, if one."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (child := sup.failed()) is not None:
            return child
        time.sleep(0.02)
    return None


def test_a_crashing_node_is_restarted_with_back_off_up_to_the_limit(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="gesture_bringup")
    sup = Supervisor(tmp_path, echo=False, max_restarts=2, backoff_s=0.2, settle_s=0.0)
    sup.start("steady", [sys.executable, "-c", CHILD, "run"])
    crasher = sup.start("asr", [sys.executable, "-c", CHILD, "crash"])
    began = time.monotonic()
    try:
        failed = poll(sup, 30.0)
        assert failed is crasher and crasher.restarts == 2
        assert time.monotonic() - began > 0.2 + 0.4  # the back-off doubled
        assert sup.children[0].proc.poll() is None  # the others kept running
        assert caplog.text.count("restarting it in") == 2 and caplog.text.count("restarted node asr") == 2
        assert "restarting it in 0.2 s (restart 1 of at most 2)" in caplog.text
        assert "restarting it in 0.4 s (restart 2 of at most 2)" in caplog.text
        assert (tmp_path / "asr.log").read_text().count("up") == 3  # every run's output is kept
    finally:
        sup.stop(timeout=5.0)
    assert all(ch.proc.poll() is not None for ch in sup.children)


def test_a_stop_ends_the_simulator_last_after_its_settle_time(tmp_path):
    sup = Supervisor(tmp_path, echo=False, settle_s=0.5)
    for name in ("mujoco_sim", "retarget", "recorder", "gesture_generator"):
        sup.start(name, [sys.executable, "-c", CHILD, "run"])
    time.sleep(1.0)
    for ch in sup.children:
        assert "up" in (tmp_path / f"{ch.name}.log").read_text()
    sup.stop(timeout=5.0)
    time.sleep(0.2)  # the pump threads write the last lines

    def stopped(name: str) -> float:
        [line] = [ln for ln in (tmp_path / f"{name}.log").read_text().splitlines() if ln.startswith("SIGINT")]
        return float(line.split()[-1])

    upstream = max(stopped("retarget"), stopped("gesture_generator"))
    assert stopped("mujoco_sim") - upstream >= 0.5 and stopped("recorder") - upstream >= 0.5
