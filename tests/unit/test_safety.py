"""The safety stage: no command ever leaves it outside the position, velocity and acceleration
limits, whatever it is given; feasible motion passes through; blocks join the commanded state."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gesture_core.errors import ConfigError, ContractError
from motion_bounds import fastest_stop_all

from gesture_core.retarget.safety import JointLimits, JointState, SafetyStage, Trajectory, limit_trajectory

# Tolerances of the limit checks: floating-point round-off only.
POS_TOL = 1e-9
RATE_TOL = 1e-6


def assert_within_limits(traj: Trajectory, start: JointState, limits: JointLimits, dt: float) -> None:
    """Positions, and finite-difference velocities and accelerations (from the admissible start
    state), inside the limits; the trajectory starts at that state and ends at rest."""
    x = traj.positions
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(traj.velocities))
    assert np.all(x >= limits.lower - POS_TOL) and np.all(x <= limits.upper + POS_TOL)
    begin = limits.admissible(start)
    np.testing.assert_allclose(x[0], begin.position, atol=1e-12)
    v = np.vstack([begin.velocity, np.diff(x, axis=0) / dt])
    a = np.diff(v, axis=0) / dt
    assert np.all(np.abs(v) <= limits.velocity * (1 + RATE_TOL) + RATE_TOL), np.max(np.abs(v) / limits.velocity)
    assert np.all(np.abs(a) <= limits.acceleration * (1 + RATE_TOL) + RATE_TOL), np.max(np.abs(a) / limits.acceleration)
    assert np.all(np.abs(traj.velocities) <= limits.velocity * (1 + RATE_TOL) + RATE_TOL)
    if len(x) > 1:
        np.testing.assert_allclose(x[-1], x[-2], atol=1e-9)  # at rest at the end
    np.testing.assert_allclose(np.diff(traj.times), dt)


def make_limits(j: int = 3, velocity: float = 2.0, acceleration: float = 10.0) -> JointLimits:
    lower = np.linspace(-1.5, -0.2, j)
    return JointLimits(tuple(f"j{i}" for i in range(j)), lower, lower + 1.7, np.full(j, velocity), np.full(j, acceleration))


# --------------------------------------------------------------------------------------------
# Property tests: adversarial input never produces a command outside the limits
# --------------------------------------------------------------------------------------------

special = st.sampled_from([np.nan, np.inf, -np.inf, 1e300, -1e300, 0.0, 50.0, -50.0])


@st.composite
def safety_case(draw):
    j = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    lower = rng.uniform(-3.0, 0.5, j)
    upper = lower + rng.uniform(0.05, 3.0, j)
    limits = JointLimits(
        tuple(f"j{i}" for i in range(j)), lower, upper, rng.uniform(0.2, 8.0, j), rng.uniform(1.0, 60.0, j)
    )
    rate = draw(st.sampled_from([30.0, 100.0, 250.0]))
    stage = SafetyStage(limits, rate, draw(st.floats(0.5, 0.4 * rate)), join_time=draw(st.floats(0.0, 1.0)))
    n = draw(st.integers(1, 40))
    kind = draw(st.sampled_from(["smooth", "noise", "jumps", "huge"]))
    if kind == "smooth":
        q = lower + (upper - lower) * (0.5 + 0.4 * np.sin(np.arange(n)[:, None] / 5.0 + rng.uniform(0, 6, j)))
    elif kind == "noise":
        q = rng.uniform(lower - 1.0, upper + 1.0, (n, j))
    elif kind == "jumps":
        q = np.where(rng.random((n, j)) < 0.5, lower, upper) + rng.normal(0, 0.1, (n, j))
    else:
        q = rng.normal(0, 1e6, (n, j))
    for _ in range(draw(st.integers(0, 4))):  # sprinkle NaN / inf / huge values
        q[rng.integers(n), rng.integers(j)] = draw(special)
    if draw(st.booleans()):  # a whole joint without a single finite value
        q[:, rng.integers(j)] = np.nan
    # the start state: usually admissible, sometimes not (limits changed live, corrupted state)
    position = rng.uniform(lower, upper)
    velocity = rng.uniform(-1, 1, j) * limits.velocity * 0.5
    if draw(st.booleans()):
        position = position + rng.normal(0, 2.0, j)
        velocity = velocity * draw(st.sampled_from([3.0, 100.0, np.nan]))
    offset = draw(st.floats(-1.0, 0.2))  # frames may start before the trajectory start (late message)
    times = offset + np.arange(n) / 15.0
    return stage, times, q, JointState(position, velocity)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(safety_case())
def test_plan_never_leaves_the_limits(case):
    stage, times, q, start = case
    traj = stage.plan(times, q, start)
    if times[-1] < 0:
        assert traj is None
        return
    assert_within_limits(traj, start, stage.limits, stage.dt)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.floats(0.05, 5.0),
    st.one_of(st.floats(-1e6, 1e6), special),
)
def test_blend_to_any_goal_stays_within_limits(seed, duration, goal_value):
    rng = np.random.default_rng(seed)
    limits = make_limits(4)
    stage = SafetyStage(limits, 100.0, 4.0)
    start = JointState(rng.uniform(limits.lower, limits.upper), rng.uniform(-1, 1, 4))
    goal = rng.uniform(limits.lower, limits.upper)
    goal[rng.integers(4)] = goal_value
    traj = stage.blend_to(goal, start, duration)
    assert_within_limits(traj, start, limits, stage.dt)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_a_safe_stop_is_as_fast_as_the_limits_allow(seed):
    rng = np.random.default_rng(seed)
    limits = make_limits(4)
    stage = SafetyStage(limits, 100.0, 4.0)
    start = limits.admissible(JointState(rng.uniform(limits.lower, limits.upper), rng.uniform(-2, 2, 4)))
    goal = rng.uniform(limits.lower, limits.upper)
    traj = stage.stop_at(goal, start)
    assert_within_limits(traj, start, limits, stage.dt)
    np.testing.assert_allclose(traj.positions[-1], goal, atol=1e-9)
    fastest = fastest_stop_all(start.position, start.velocity, goal, limits.velocity, limits.acceleration)
    # at rest within the continuous optimum plus the discretisation: the discrete limiter brakes
    # a step early (up to 6 controller steps later than the optimum over 300 random cases)
    assert traj.times[-1] <= fastest + 8 * stage.dt, (traj.times[-1], fastest)
    assert traj.times[-1] < stage.blend_to(goal, start, 0.0).times[-1] + 1e-9


# --------------------------------------------------------------------------------------------
# Behaviour on ordinary input
# --------------------------------------------------------------------------------------------


def test_feasible_motion_passes_through_resampled_to_the_controller_rate():
    limits = make_limits(2, velocity=5.0, acceleration=50.0)
    stage = SafetyStage(limits, 100.0, cutoff_hz=6.0, join_time=0.0)
    times = np.arange(45) / 15.0
    centre = 0.5 * (limits.lower + limits.upper)
    q = centre + 0.3 * np.sin(2 * np.pi * 0.5 * times)[:, None]  # 0.5 Hz, well under the cutoff
    traj = stage.plan(times, q, JointState(q[0].copy(), 0.3 * np.pi * np.ones(2)))
    assert traj.times[1] == pytest.approx(0.01)
    assert traj.duration >= times[-1]
    grid = traj.times <= times[-1]
    expected = centre + 0.3 * np.sin(2 * np.pi * 0.5 * traj.times[grid])[:, None]
    # away from the block's end (where the motion is brought to rest) it follows the input closely
    inner = traj.times[grid] < times[-1] - 0.3
    np.testing.assert_allclose(traj.positions[grid][inner], expected[inner], atol=0.01)


def test_consecutive_blocks_join_the_commanded_state():
    limits = make_limits(3)
    stage = SafetyStage(limits, 100.0, 4.0, join_time=0.4)
    rng = np.random.default_rng(3)
    first = stage.plan(np.arange(30) / 15.0, rng.uniform(limits.lower, limits.upper, (30, 3)), JointState.at_rest(limits.lower + 0.5))
    t_switch = 0.73  # mid-motion, between two samples
    state = first.state_at(t_switch)
    second = stage.plan(np.arange(20) / 15.0, rng.uniform(limits.lower, limits.upper, (20, 3)), state)
    np.testing.assert_allclose(second.positions[0], state.position)
    # the velocity across the junction changes no faster than the acceleration limit allows
    v_after = (second.positions[1] - second.positions[0]) / stage.dt
    assert np.all(np.abs(v_after - state.velocity) <= limits.acceleration * stage.dt * (1 + RATE_TOL))
    assert_within_limits(second, state, limits, stage.dt)


def test_limiter_reaches_a_step_target_without_overshoot_and_settles():
    limits = make_limits(1, velocity=1.0, acceleration=4.0)
    goal = limits.upper - 0.1
    x = limit_trajectory(np.full((10, 1), goal), JointState.at_rest(limits.lower + 0.05), 0.01, limits)
    assert np.max(x) <= goal + 1e-12
    assert x[-1, 0] == pytest.approx(goal[0], abs=1e-9)
    v = np.diff(x[:, 0]) / 0.01
    assert np.max(v) == pytest.approx(1.0)  # it does use the full speed on the way


def test_state_at_interpolates_and_holds_after_the_end():
    traj = Trajectory(np.array([0.0, 0.1, 0.2]), np.array([[0.0], [1.0], [1.5]]), np.zeros((3, 1)))
    mid = traj.state_at(0.05)
    assert mid.position[0] == pytest.approx(0.5) and mid.velocity[0] == pytest.approx(10.0)
    after = traj.state_at(7.0)
    assert after.position[0] == 1.5 and after.velocity[0] == 0.0


def test_non_finite_targets_are_repaired_and_logged(caplog):
    limits = make_limits(2)
    stage = SafetyStage(limits, 100.0, 4.0)
    q = np.tile(limits.lower + 0.5, (10, 1))
    q[4, 0] = np.nan
    q[:, 1] = np.inf
    with caplog.at_level(logging.ERROR, logger="gesture_core.retarget.safety"):
        traj = stage.plan(np.arange(10) / 15.0, q, JointState.at_rest(limits.lower + 0.5))
    assert "repaired 11 non-finite joint targets in 2 joint(s) (j0, j1)" in caplog.text
    np.testing.assert_allclose(traj.positions, np.tile(limits.lower + 0.5, (len(traj.positions), 1)), atol=1e-9)


def test_targets_outside_the_limits_are_clamped_and_logged(caplog):
    limits = make_limits(1)
    stage = SafetyStage(limits, 100.0, 4.0)
    with caplog.at_level(logging.WARNING, logger="gesture_core.retarget.safety"):
        traj = stage.plan(np.arange(20) / 15.0, np.full((20, 1), 99.0), JointState.at_rest(limits.lower))
    assert "clamped 20 joint targets" in caplog.text and "'j0'" in caplog.text
    assert traj.positions[-1, 0] == pytest.approx(limits.upper[0])


def test_all_frames_in_the_past_give_nothing(caplog):
    stage = SafetyStage(make_limits(1), 100.0, 4.0)
    with caplog.at_level(logging.ERROR):
        assert stage.plan(np.arange(5) / 15.0 - 2.0, np.zeros((5, 1)), JointState.at_rest(np.zeros(1))) is None
    assert "in the past" in caplog.text


@pytest.mark.parametrize(
    "times, positions, field",
    [
        (np.arange(4) / 15, np.zeros((4, 2)), "shape (4, 2), expected (N>0, 3)"),
        (np.arange(4) / 15, np.zeros(4), "shape (4,)"),
        (np.arange(0) / 15, np.zeros((0, 3)), "shape (0, 3)"),
        (np.arange(5) / 15, np.zeros((4, 3)), "frame_times has shape (5,)"),
        (np.array([0.0, 0.2, 0.1, 0.3]), np.zeros((4, 3)), "strictly increasing"),
        (np.array([0.0, np.nan, 0.1, 0.3]), np.zeros((4, 3)), "finite"),
        (np.arange(2) / 15, [["a", "b", "c"], [1, 2, 3]], "not numeric"),
    ],
)
def test_wrong_shapes_are_rejected_with_the_reason(times, positions, field):
    stage = SafetyStage(make_limits(3), 100.0, 4.0)
    with pytest.raises(ContractError) as err:
        stage.plan(times, positions, JointState.at_rest(np.zeros(3)))
    assert field in str(err.value)


def test_bad_settings_and_limits_name_the_key():
    limits = make_limits(2)
    with pytest.raises(ConfigError, match="smoothing_cutoff_hz"):
        SafetyStage(limits, 100.0, 60.0)
    with pytest.raises(ConfigError, match="controller_rate_hz"):
        SafetyStage(limits, 0.0, 1.0)
    with pytest.raises(ConfigError, match="limits.velocity: joint 'j1'"):
        JointLimits(("j0", "j1"), np.zeros(2), np.ones(2), np.array([1.0, 0.0]), np.ones(2))
    with pytest.raises(ConfigError, match="joint 'j0' has an empty range"):
        JointLimits(("j0",), np.ones(1), np.ones(1), np.ones(1), np.ones(1))
    with pytest.raises(ConfigError, match="limits.acceleration: need 2 finite values"):
        JointLimits(("j0", "j1"), np.zeros(2), np.ones(2), np.ones(2), np.array([1.0, np.nan]))
