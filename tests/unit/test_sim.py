"""The MuJoCo simulator core: stepping, trajectory execution with JTC semantics, rendering, tracking."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gesture_core.contracts import NS_PER_S, JointCommand
from gesture_core.errors import ConfigError, ContractError
from gesture_core.retarget.config import default_config_path, load_config, safety_limits
from gesture_core.retarget.safety import JointState, central_velocities, limit_trajectory
from gesture_core.robot import default_urdf_path
from gesture_core.sim import Renderer, Simulator, TrajectoryReference, rms_tracking_error, wave_gesture
from gesture_core.sim.clock import Pacer, SimClock
from gesture_core.sim.simulator import SERVO_PAD

#: A reached target is within this of the commanded position (rad).
REACH_TOLERANCE = 0.01


@pytest.fixture
def sim() -> Simulator:
    return Simulator()


def command(names: list[str], times, positions, velocities=None, stamp_ns: int = 0) -> JointCommand:
    return JointCommand("test", stamp_ns, names, np.asarray(times, float), np.asarray(positions, float),
                        None if velocities is None else np.asarray(velocities, float))  # fmt: skip


# --------------------------------------------------------------------------------------------
# The trajectory reference on its own
# --------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    gaps=st.lists(st.floats(0.05, 1.0), min_size=1, max_size=8),
    values=st.lists(st.floats(-2.0, 2.0), min_size=18, max_size=18),
    with_velocities=st.booleans(),
)
def test_reference_passes_through_every_point(
    gaps: list[float], values: list[float], with_velocities: bool
) -> None:
    times = np.cumsum(gaps)
    n = len(times)
    pos = np.array(values[:n])[:, None] * [1.0, -0.5]
    vel = np.array(values[9 : 9 + n])[:, None] * [1.0, 1.0] if with_velocities else None
    ref = TrajectoryReference(["a", "b"], np.array([0.3, -0.2]))
    ref.add(command(["a", "b"], times, pos, vel), start=10.0, now=10.0)
    np.testing.assert_allclose(ref.sample(10.0)[0], [0.3, -0.2], atol=1e-12)  # starts where it was
    for k, t in enumerate(times):
        p, v = ref.sample(10.0 + t)
        np.testing.assert_allclose(p, pos[k], atol=1e-9)
        if with_velocities and k < n - 1:
            np.testing.assert_allclose(v, vel[k], atol=1e-9)
    p, v = ref.sample(10.0 + times[-1] + 3.0)  # the last point is held
    np.testing.assert_allclose(p, pos[-1], atol=1e-12)
    np.testing.assert_array_equal(v, 0.0)


def test_reference_without_velocities_stays_within_its_points() -> None:
    ref = TrajectoryReference(["a"], np.zeros(1))
    ref.add(command(["a"], [0.5, 1.0, 1.5, 2.0], [[1.0], [1.0], [-1.0], [0.5]]), start=0.0, now=0.0)
    samples = np.array([ref.sample(t)[0][0] for t in np.linspace(0, 2.5, 501)])
    assert samples.min() >= -1.0 - 1e-12 and samples.max() <= 1.0 + 1e-12  # PCHIP: no overshoot
    assert ref.sample(0.75)[0][0] == pytest.approx(1.0)  # flat between equal points


def test_newer_command_replaces_the_rest_from_its_start() -> None:
    ref = TrajectoryReference(["a", "b"], np.zeros(2))
    ref.add(command(["a", "b"], [2.0], [[1.0, 1.0]]), start=0.0, now=0.0)
    old = {t: ref.sample(t)[0].copy() for t in (0.5, 1.0)}
    ref.add(command(["a"], [1.0], [[-0.5]]), start=1.0, now=0.5)  # from t=1 on, only joint a
    np.testing.assert_allclose(ref.sample(0.5)[0], old[0.5])  # untouched before its start
    np.testing.assert_allclose(ref.sample(1.0)[0], old[1.0])  # continuous at the switch
    np.testing.assert_allclose(ref.sample(2.0)[0], [-0.5, 1.0])  # a: new target; b: still the old one
    np.testing.assert_allclose(ref.sample(5.0)[0], [-0.5, 1.0])


def test_an_earlier_start_drops_commands_queued_after_it() -> None:
    ref = TrajectoryReference(["a"], np.zeros(1))
    ref.add(command(["a"], [0.0], [[1.0]]), start=3.0, now=0.0)  # queued for later
    ref.add(command(["a"], [1.0], [[0.4]]), start=1.0, now=0.0)  # newer, starts before it
    assert ref.sample(10.0)[0][0] == pytest.approx(0.4)


def test_a_late_command_skips_its_past_points() -> None:
    ref = TrajectoryReference(["a"], np.zeros(1))
    ref.add(command(["a"], [0.5, 1.0, 2.0], [[5.0], [1.0], [2.0]]), start=0.0, now=0.8)
    assert ref.sample(0.8)[0][0] == pytest.approx(0.0)  # from where it is, not from the missed 5.0
    assert [ref.sample(t)[0][0] for t in (1.0, 2.0)] == pytest.approx([1.0, 2.0])
    ref.add(command(["a"], [0.5], [[-1.0]]), start=0.0, now=3.0)  # entirely in the past: go there
    assert ref.sample(3.0)[0][0] == pytest.approx(-1.0)


def test_forgetting_the_past_keeps_the_present() -> None:
    ref = TrajectoryReference(["a"], np.zeros(1))
    ref.add(command(["a"], [1.0, 2.0], [[1.0], [-1.0]]), start=0.0, now=0.0)
    before = [ref.sample(t)[0][0] for t in (1.5, 2.0, 4.0)]
    ref.forget_before(1.5)
    assert [ref.sample(t)[0][0] for t in (1.5, 2.0, 4.0)] == pytest.approx(before)
    ref.forget_before(3.0)
    assert ref.sample(4.0)[0][0] == pytest.approx(-1.0)


def test_unknown_joints_are_named(sim: Simulator) -> None:
    with pytest.raises(ContractError, match="'elbow_wiggle'"):
        sim.execute(command(["l_elbow_roll", "elbow_wiggle"], [1.0], [[0.0, 0.0]]))


# --------------------------------------------------------------------------------------------
# The simulator
# --------------------------------------------------------------------------------------------


def test_stepping_at_rest(sim: Simulator) -> None:
    assert sim.time == 0.0 and sim.timestep == 0.002
    sim.step(250)
    assert sim.time == pytest.approx(0.5)
    assert sim.advance_to(1.0) == 250 and sim.time == pytest.approx(1.0)
    np.testing.assert_allclose(sim.rest, np.clip(0.0, sim.lower + 0.01, sim.upper - 0.01))  # 0, off the limits
    np.testing.assert_allclose(sim.positions(), sim.rest, atol=1e-6)  # it holds its pose against gravity
    assert sim.positions().shape == sim.velocities().shape == sim.efforts().shape == (len(sim.joint_names),)


def test_a_trajectory_is_executed(sim: Simulator) -> None:
    names = ["torso_pitch", "head_yaw", "l_shoulder_pitch", "l_elbow_roll", "r_shoulder_roll", "r_wrist_yaw"]
    target = np.array([0.3, -0.5, -1.4, -1.0, -0.9, 1.0])
    sim.execute(command(names, [0.5, 1.0], [target / 2, target], stamp_ns=int(0.2 * NS_PER_S)))
    sim.advance_to(0.2)
    np.testing.assert_allclose(sim.positions(), sim.rest, atol=1e-3)  # nothing moves before the stamp
    sim.advance_to(0.7)
    np.testing.assert_allclose([sim.position(n) for n in names], target / 2, atol=REACH_TOLERANCE)
    sim.advance_to(2.0)
    np.testing.assert_allclose([sim.position(n) for n in names], target, atol=REACH_TOLERANCE)
    others = [n for n in sim.joint_names if n not in names]
    np.testing.assert_allclose([sim.position(n) for n in others], 0.0, atol=REACH_TOLERANCE)  # at rest


def test_targets_beyond_the_limits_are_clipped_and_logged(
    sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        sim.hold({"l_shoulder_pitch": -3.0, "head_yaw": 0.2})
    assert "l_shoulder_pitch" in caplog.text and "head_yaw" not in caplog.text
    sim.advance_to(2.0)
    lower = sim.description.joint("l_shoulder_pitch").lower
    # held SERVO_PAD inside the limit, where the servo keeps it
    assert sim.position("l_shoulder_pitch") == pytest.approx(lower + SERVO_PAD, abs=0.002)


def test_reset(sim: Simulator) -> None:
    sim.hold({"head_pitch": 0.3})
    sim.advance_to(0.5)
    lower, upper = sim.description.limits()
    q = 0.2 * (lower + upper) / 2
    sim.reset(q)
    assert sim.time == 0.0
    sim.advance_to(0.5)
    np.testing.assert_allclose(sim.positions(), q, atol=1e-3)


@pytest.mark.parametrize("variant", ["humanoid", "humanoid_7dof"])
def test_a_wave_gesture_is_tracked_closely(variant: str) -> None:
    sim = Simulator(default_urdf_path(variant))
    gesture = wave_gesture(sim.description)
    velocity_limits = np.array([j.velocity for j in sim.description.movable_joints])
    assert np.all(np.abs(gesture.velocities) <= velocity_limits)
    lower, upper = sim.description.limits()
    assert np.all((gesture.positions >= lower) & (gesture.positions <= upper))
    assert np.ptp(gesture.positions, axis=0).min() > 0.2  # every joint really moves
    rms = rms_tracking_error(sim, gesture)
    assert rms.shape == (len(sim.joint_names),)
    assert rms.max() < REACH_TOLERANCE  # rad


def test_a_trajectory_planned_at_the_limits_is_followed_without_overshoot() -> None:
    # The retargeter's safety stage plans strokes at the acceleration limit on its 100 Hz grid; the
    # sim's limiter must follow them, not lag through the acceleration and overshoot at the brake
    # (with a limiter at exactly the configured acceleration: 0.038 rad past the safety limits).
    cfg = load_config(default_config_path())
    sim = Simulator(config=cfg)
    limits = safety_limits(cfg, sim.description)
    columns = sim.reference.indices(cfg.joint_names)
    dt, rng = 1.0 / cfg.controller_rate_hz, np.random.default_rng(0)
    for trial in range(2):
        here = sim.commanded()[0][columns]
        extreme = np.where(rng.random(len(columns)) < 0.5, limits.lower, limits.upper)
        target = np.concatenate([np.repeat(extreme[None], 40, 0), np.repeat(sim.rest[columns][None], 40, 0)])
        positions = limit_trajectory(target, JointState(here, np.zeros_like(here)), dt, limits)
        velocities = central_velocities(positions, dt, np.zeros(len(columns)))
        times = dt * np.arange(len(positions)) + 0.02
        sim.execute(command(cfg.joint_names, times, positions, velocities), sim.time)
        end = sim.time + times[-1] + 0.3
        while sim.time < end:
            sim.step()
            assert np.abs(sim.commanded()[0] - sim.reference.sample(sim.time)[0]).max() < 0.002
            q = sim.positions()[columns]
            assert np.all(q >= limits.lower - 0.005) and np.all(q <= limits.upper + 0.005), (trial, sim.time)


def test_bad_simulator_settings() -> None:
    with pytest.raises(ConfigError, match="sim.timestep"):
        Simulator(timestep=0.5)
    with pytest.raises(ConfigError, match="sim.kp"):
        Simulator(kp=0.0)


# --------------------------------------------------------------------------------------------
# Rendering (MUJOCO_GL=egl from conftest; Mesa's software EGL works without a GPU)
# --------------------------------------------------------------------------------------------


def test_rendered_frames_show_the_robot_moving(sim: Simulator) -> None:
    with Renderer(sim.model, width=160, height=120) as renderer:
        still = renderer.render(sim.data)
        assert still.shape == (120, 160, 3) and still.dtype == np.uint8
        assert still.std() > 10  # not a blank frame
        sim.hold({"l_shoulder_pitch": -1.8, "r_shoulder_roll": -1.2})
        sim.advance_to(1.5)
        moved = renderer.render(sim.data)
    changed = np.abs(moved.astype(int) - still.astype(int)).max(axis=2) > 30
    assert changed.mean() > 0.01  # the arms moved in the picture
    # The robot's left arm appears on the right half of the listener's view, and vice versa.
    assert changed[:, 80:].sum() > 0 and changed[:, :80].sum() > 0


def test_renderer_rejects_bad_settings(sim: Simulator) -> None:
    with pytest.raises(ConfigError, match="width/height"):
        Renderer(sim.model, width=0, height=10)
    with pytest.raises(ConfigError, match="camera 'side'"):
        Renderer(sim.model, camera="side")


# --------------------------------------------------------------------------------------------
# Sim time against ROS time and the wall clock
# --------------------------------------------------------------------------------------------


@given(origin=st.integers(0, 2**62), sim_s=st.floats(0.0, 1e6))
def test_sim_clock_round_trip(origin: int, sim_s: float) -> None:
    clock = SimClock(origin)
    assert clock.to_sim(clock.to_ros_ns(sim_s)) == pytest.approx(sim_s, abs=1e-9)
    assert clock.to_ros_ns(0.0) == origin


def test_pacer_runs_at_the_real_time_factor_and_drops_what_it_cannot_catch_up() -> None:
    pacer = Pacer(2.0, wall_now=100.0, sim_now=5.0, max_lag=0.1)
    assert pacer.target(100.05, 5.0) == pytest.approx((5.1, 0.0))
    target, dropped = pacer.target(101.0, 5.1)  # the simulation stalled: 1.9 s behind
    assert target == pytest.approx(5.2) and dropped == pytest.approx(1.8)
    assert pacer.target(101.05, 5.2) == pytest.approx((5.3, 0.0))  # and goes on from there
    pacer.set_rate(0.5, wall_now=102.0, sim_now=5.3)
    assert pacer.target(102.1, 5.3) == pytest.approx((5.35, 0.0))
    with pytest.raises(ConfigError, match="real_time_factor"):
        pacer.set_rate(0.0, 0.0, 0.0)


def test_dropped_time_moves_the_schedule_with_the_clock():
    """A simulator that drops ``d`` s moves its clock origin by ``d``: everything scheduled moves
    ``d`` earlier in sim time, so each point stays at its time on the other clock."""
    cmd = JointCommand("u", 0, ["a"], np.array([0.0, 1.0, 2.0]), np.array([[0.0], [1.0], [0.0]]))
    kept, shifted = TrajectoryReference(["a"], np.zeros(1)), TrajectoryReference(["a"], np.zeros(1))
    for ref in (kept, shifted):
        ref.add(cmd, start=1.0, now=0.0)
    shifted.shift(-0.3)
    for t in np.linspace(1.0, 3.5, 11):
        np.testing.assert_allclose(shifted.sample(t - 0.3)[0], kept.sample(t)[0])
        np.testing.assert_allclose(shifted.sample(t - 0.3)[1], kept.sample(t)[1])
