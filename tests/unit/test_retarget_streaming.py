"""Streaming retargeting (:class:`~gesture_core.retarget.streaming.StreamingPlanner`): every message
continues what is playing under joint_trajectory_controller semantics (a new message replaces the
rest of the trajectory from its first point), and the trajectory the robot plays keeps every
position, velocity and acceleration limit across the joins, whatever the chunking and timing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from locations import ROOT

from gesture_core import skeleton
from gesture_core.contracts import GESTURE_FPS, NS_PER_S, GestureSequence, JointCommand
from gesture_core.retarget.config import load_config
from gesture_core.retarget.motion import MotionPlanner
from gesture_core.retarget.streaming import StreamingPlanner, gaussian_kernel

CONFIG = ROOT / "config" / "retarget_humanoid.yaml"
T0 = 50 * NS_PER_S


@pytest.fixture(scope="module")
def base() -> MotionPlanner:
    return MotionPlanner(load_config(CONFIG))


def fresh(base: MotionPlanner) -> StreamingPlanner:
    base._issued.clear()
    return StreamingPlanner(base)


def gesture(n: int, speed: float = 0.8) -> np.ndarray:
    t = np.arange(n)[:, None] / GESTURE_FPS
    wave = 0.25 * np.sin(2 * np.pi * speed * t + np.linspace(0, 3, 27))
    return np.tile(skeleton.MEAN_DIR_VEC, (n, 1)) + wave


def stream(
    sp: StreamingPlanner, poses: np.ndarray, sizes: list[int], leads: list[float]
) -> list[JointCommand]:
    """Push ``poses`` in chunks of ``sizes`` frames, each ``lead`` s before its first frame plays
    (negative: late), then finish."""
    msgs, k, i = [], 0, 0
    while k < len(poses):
        n = sizes[i % len(sizes)]
        now = T0 + round((k / GESTURE_FPS - leads[i % len(leads)]) * NS_PER_S)
        msg = sp.push(GestureSequence("utt", T0, poses[k : k + n], first_frame=k), now)
        if msg is not None:
            msgs.append(msg)
        k, i = k + n, i + 1
    msgs.append(sp.finish(T0 + round((len(poses) / GESTURE_FPS - leads[0]) * NS_PER_S)))
    return msgs


def played(msgs: list[JointCommand], dt: float) -> tuple[np.ndarray, list[float]]:
    """What a joint_trajectory_controller plays: each message replaces the rest of the trajectory
    from its first point. Returns the positions (M, J) on the grid, and per message after the first
    the distance between its first point and what was playing there."""
    play: dict[int, np.ndarray] = {}
    mismatch = []
    for m in msgs:
        i0 = round((m.stamp_ns - T0) / (dt * NS_PER_S))
        assert np.allclose(m.times, np.arange(len(m.times)) * dt)
        if play:
            if i0 in play:
                mismatch.append(float(np.max(np.abs(play[i0] - m.positions[0]))))
            play = {k: x for k, x in play.items() if k < i0}
        play.update({i0 + j: x for j, x in enumerate(m.positions)})
    keys = sorted(play)
    assert keys == list(range(keys[0], keys[-1] + 1))  # no gap
    return np.array([play[k] for k in keys]), mismatch


def check_limits(x: np.ndarray, base: MotionPlanner) -> None:
    lim, dt = base.safety.limits, base.safety.dt
    v = np.diff(x, axis=0) / dt
    a = np.diff(v, axis=0) / dt
    assert np.all(x >= lim.lower - 1e-9) and np.all(x <= lim.upper + 1e-9)
    assert np.max(np.abs(v) / lim.velocity) <= 1 + 1e-6
    assert np.max(np.abs(a) / lim.acceleration) <= 1 + 1e-6
    np.testing.assert_allclose(x[-1], x[-2], atol=1e-9)  # ends at rest


def test_kernel_is_a_normalised_symmetric_low_pass():
    k = gaussian_kernel(4.0, 100.0)
    assert k.sum() == pytest.approx(1.0) and np.allclose(k, k[::-1])
    gain = abs(np.sum(k * np.exp(-2j * np.pi * 4.0 / 100.0 * np.arange(len(k)))))
    assert gain == pytest.approx(0.5, abs=0.01)  # as the batch stage's filtfilt Butterworth


def test_messages_extend_what_is_playing(base):
    sp = fresh(base)
    poses = gesture(60)
    msgs = stream(sp, poses, [6], [0.5])
    x, mismatch = played(msgs, base.safety.dt)
    assert len(mismatch) == len(msgs) - 1 and max(mismatch) < 1e-12  # each starts on what plays
    check_limits(x, base)
    np.testing.assert_allclose(x[0], base.rest, atol=1e-9)  # from the commanded state (rest)
    assert msgs[0].stamp_ns == T0 and len(x) * base.safety.dt >= 60 / GESTURE_FPS
    # the same trajectory whatever the chunking (IK warm start, local spline, FIR, carried limiter);
    # only the IK's restart schedule, which starts afresh with each chunk, may differ a little
    other, _ = played(stream(fresh(base), poses, [4, 9, 13], [0.5]), base.safety.dt)
    assert other.shape == x.shape and np.mean(np.abs(other - x)) < 1e-3 and np.max(np.abs(other - x)) < 0.05
    # close to what the batch planner makes of the whole utterance (zero-phase in both)
    base._issued.clear()
    batch = base.plan_gesture(GestureSequence("batch", T0, poses), T0 - NS_PER_S).positions
    n = min(len(batch), len(x)) - 60
    assert np.mean(np.abs(batch[:n] - x[:n])) < 0.03


def test_a_late_chunk_continues_from_the_braking_tail(base, caplog):
    sp = fresh(base)
    msgs = stream(sp, gesture(48, speed=1.2), [12], [0.5, -0.4, 0.5, 0.5])
    assert "late; continuing from the braking tail" in caplog.text
    x, mismatch = played(msgs, base.safety.dt)
    assert max(mismatch) < 1e-12
    check_limits(x, base)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sizes=st.lists(st.integers(1, 15), min_size=1, max_size=4),
    leads=st.lists(st.floats(-0.3, 0.8), min_size=1, max_size=4),
    speed=st.floats(0.2, 3.0),
    amplitude=st.floats(0.1, 0.6),
)
def test_limits_hold_across_joins_for_any_chunking(base, sizes, leads, speed, amplitude):
    n = 45
    t = np.arange(n)[:, None] / GESTURE_FPS
    poses = skeleton.normalize_directions(
        np.tile(skeleton.MEAN_DIR_VEC, (n, 1))
        + amplitude * np.sin(2 * np.pi * speed * t + np.linspace(0, 5, 27))
    )
    msgs = stream(fresh(base), poses, sizes, leads)
    x, mismatch = played(msgs, base.safety.dt)
    check_limits(x, base)
    assert not mismatch or max(mismatch) < 1e-12


def test_a_new_utterance_starts_from_the_commanded_state(base):
    sp = fresh(base)
    first = sp.push(GestureSequence("a", T0, gesture(30)), T0 - NS_PER_S)
    at = T0 + NS_PER_S  # "b" interrupts "a" one second in
    state = base.state_at(at)
    second = sp.push(GestureSequence("b", at, gesture(12, speed=2.0)), at - NS_PER_S // 2)
    assert second.stamp_ns == at and second.utterance_id == "b"
    np.testing.assert_allclose(second.positions[0], state.position, atol=1e-9)
    np.testing.assert_allclose(second.velocities[0], state.velocity, atol=1e-9)
    x, _ = played([first, second, sp.finish(at)], base.safety.dt)
    check_limits(x, base)
