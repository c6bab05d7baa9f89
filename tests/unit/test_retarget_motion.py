"""The MotionPlanner on the utterance timeline: stamps, streaming windows, late messages, rest."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from locations import ROOT

from gesture_core import skeleton
from gesture_core.contracts import NS_PER_S, GestureSequence
from gesture_core.errors import ConfigError
from gesture_core.retarget.config import load_config
from gesture_core.retarget.motion import MAX_PLAN_FRAMES, REST_ID, MotionPlanner, PlanningTime, split_sequence

CONFIG = ROOT / "config" / "retarget_humanoid.yaml"
T0 = 50 * NS_PER_S  # "now" in these tests


@pytest.fixture
def planner() -> MotionPlanner:
    return MotionPlanner(load_config(CONFIG))


def gesture(n: int, phase: float = 0.0) -> np.ndarray:
    """(n, 27) smooth human gesture around the TED mean pose."""
    t = np.arange(n)[:, None] / 15.0
    wave = 0.25 * np.sin(2 * np.pi * 0.6 * t + phase + np.linspace(0, 3, 27))
    return np.tile(skeleton.MEAN_DIR_VEC, (n, 1)) + wave


def test_on_time_command_is_stamped_at_the_utterance_start_and_starts_at_rest(planner):
    cmd = planner.plan_gesture(GestureSequence("utt-1", T0 + NS_PER_S, gesture(30)), T0)
    assert cmd.utterance_id == "utt-1" and cmd.stamp_ns == T0 + NS_PER_S
    np.testing.assert_allclose(cmd.positions[0], planner.rest)
    assert cmd.times[-1] >= 29 / 15.0
    np.testing.assert_allclose(cmd.positions[-1], cmd.positions[-2], atol=1e-9)  # ends at rest
    assert not planner.resting()


def test_streaming_window_continues_the_utterance_smoothly(planner):
    first = planner.plan_gesture(GestureSequence("utt-2", T0, gesture(30)), T0)
    whole = gesture(60)
    second = planner.plan_gesture(GestureSequence("utt-2", T0, whole[30:], first_frame=30), T0 + NS_PER_S)
    assert second.stamp_ns == T0 + 2 * NS_PER_S  # utterance start + 30 frames / 15 fps
    # it starts where the first window's command has the robot at that time
    t = (second.stamp_ns - first.stamp_ns) / NS_PER_S
    k = int(round(t * 100))
    np.testing.assert_allclose(second.positions[0], first.positions[k], atol=1e-9)
    dt = 0.01
    v_first = (first.positions[k] - first.positions[k - 1]) / dt
    v_second = (second.positions[1] - second.positions[0]) / dt
    assert np.all(np.abs(v_second - v_first) <= planner.safety.limits.acceleration * dt * (1 + 1e-6))


def test_late_message_drops_the_past_and_starts_now(planner, caplog):
    start = T0 - NS_PER_S  # the speech started a second ago
    with caplog.at_level(logging.WARNING, logger="gesture_core.retarget.motion"):
        cmd = planner.plan_gesture(GestureSequence("utt-3", start, gesture(45)), T0)
    assert "arrived 1.000 s late (0.000 s allowed for planning): dropped 15 past frames" in caplog.text
    assert cmd.stamp_ns == T0
    np.testing.assert_allclose(cmd.positions[0], planner.rest)  # the commanded state now
    assert cmd.times[-1] >= 44 / 15.0 - 1.0 - 1e-9
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="gesture_core.retarget.motion"):
        assert planner.plan_gesture(GestureSequence("utt-4", start - 10 * NS_PER_S, gesture(15)), T0) is None
    assert "dropped" in caplog.text


def test_rest_blend_returns_to_the_rest_pose_from_the_commanded_state(planner):
    cmd = planner.plan_gesture(GestureSequence("utt-5", T0, gesture(20)), T0)
    now = cmd.stamp_ns + round(0.5 * NS_PER_S)  # mid-gesture
    state = planner.state_at(now)
    rest = planner.plan_rest(now)
    assert rest.utterance_id == REST_ID and rest.stamp_ns == now
    np.testing.assert_allclose(rest.positions[0], state.position)
    np.testing.assert_allclose(rest.positions[-1], planner.rest, atol=1e-9)
    assert rest.times[-1] >= planner.cfg.rest_blend_time - 1e-9
    assert planner.resting() and planner.end_ns == now + round(rest.times[-1] * NS_PER_S)


def test_startup_command_is_one_rest_point_in_the_future(planner):
    cmd = planner.plan_startup(T0)
    assert cmd.positions.shape == (1, len(planner.joint_names))
    np.testing.assert_allclose(cmd.positions[0], planner.rest)
    assert cmd.times[0] == planner.cfg.rest_blend_time


def test_configure_applies_to_the_next_command_and_rejects_bad_settings(planner):
    poses = gesture(30)
    full = planner.plan_gesture(GestureSequence("utt-6", T0, poses), T0)
    planner.configure(planner.cfg.with_overrides(amplitude_scale=0.2))
    small = planner.plan_gesture(GestureSequence("utt-7", T0 + 10 * NS_PER_S, poses), T0 + 10 * NS_PER_S)
    assert np.ptp(small.positions[:300], axis=0).sum() < 0.5 * np.ptp(full.positions[:300], axis=0).sum()
    with pytest.raises(ConfigError, match="limits.margin"):
        planner.configure(planner.cfg.with_overrides(limits_margin=0.49))
    assert planner.cfg.amplitude_scale == 0.2  # the old settings stay


def test_the_planning_budget_cuts_frames_before_planning_so_the_command_never_starts_in_the_past(planner):
    """A message due now cannot start now: its plan is ready only ``budget`` later. The frames
    before that are cut before planning and the stamp is when the plan will be ready."""
    budget = 0.4
    cmd = planner.plan_gesture(GestureSequence("utt-8", T0, gesture(45)), T0, budget_s=budget)
    assert cmd.stamp_ns == T0 + round(budget * NS_PER_S)
    assert cmd.times[0] == 0 and cmd.times[-1] >= 44 / 15.0 - budget - 1e-9
    np.testing.assert_allclose(cmd.positions[0], planner.rest)  # from the commanded state then
    # a message due later than the budget is stamped at its own first frame, nothing cut
    on_time = planner.plan_gesture(GestureSequence("utt-9", T0 + 5 * NS_PER_S, gesture(30)), T0, budget_s=budget)
    assert on_time.stamp_ns == T0 + 5 * NS_PER_S


def test_planning_time_follows_a_slower_machine_at_once_and_a_faster_one_slowly():
    timing = PlanningTime(fixed_s=0.0, per_frame_s=0.002, safety=1.5, decay=0.1)
    assert timing.estimate(100) == pytest.approx(0.3)
    timing.update(100, 1.0)  # 10 ms per frame: a busy machine
    assert timing.per_frame_s == pytest.approx(0.01)
    timing.update(100, 0.1)  # 1 ms per frame
    assert timing.per_frame_s == pytest.approx(0.9 * 0.01 + 0.1 * 0.001)
    with pytest.raises(ConfigError, match="safety"):
        PlanningTime(safety=0.5)


def test_warm_up_measures_planning_and_keeps_the_planner_state(planner):
    cmd = planner.plan_gesture(GestureSequence("utt-10", T0, gesture(20)), T0)
    state = planner.state_at(cmd.stamp_ns + NS_PER_S // 2)
    took = planner.warm_up()
    assert took > 0 and planner.timing.per_frame_s > 0
    np.testing.assert_allclose(planner.state_at(cmd.stamp_ns + NS_PER_S // 2).position, state.position)
    assert planner.end_ns == cmd.stamp_ns + round(cmd.times[-1] * NS_PER_S)


def test_a_long_message_splits_into_consecutive_pieces_that_plan_as_one_stream(planner):
    n = 2 * MAX_PLAN_FRAMES + 20
    seq = GestureSequence("utt-11", T0, gesture(n), first_frame=30, strokes=((2.5, "beat"), (15.0, "wave"), (25.0, "beat")))
    pieces = split_sequence(seq, overlap=0)
    assert [(p.first_frame, len(p.poses)) for p in pieces] == [(30, 150), (180, 150), (330, 20)]
    np.testing.assert_array_equal(np.concatenate([p.poses for p in pieces]), seq.poses)
    assert [p.strokes for p in pieces] == [((2.5, "beat"),), ((15.0, "wave"),), ((25.0, "beat"),)]
    assert split_sequence(pieces[-1]) == [pieces[-1]]
    short_first = split_sequence(seq, first_frames=15, overlap=8)  # each reaches 8 frames into the next
    assert [(p.first_frame, len(p.poses)) for p in short_first] == [(30, 23), (45, 158), (195, 155), (345, 5)]
    np.testing.assert_array_equal(np.concatenate([p.poses[: {30: 15, 345: 5}.get(p.first_frame, 150)]
                                                  for p in short_first]), seq.poses)  # fmt: skip
    assert [p.strokes for p in short_first] == [((2.5, "beat"),), (), ((15.0, "wave"),), ((25.0, "beat"),)]
    # each piece continues the previous one: stamped at its own first frame, joined to the commanded state
    now = T0
    for p in pieces:
        cmd = planner.plan_gesture(p, now)
        assert cmd.stamp_ns == T0 + round(p.first_frame * NS_PER_S / 15)
        now = cmd.stamp_ns


def _executed(seq: GestureSequence, pieces: list[GestureSequence]) -> np.ndarray:
    """Joint positions (600, J) at 100 Hz over 6 s of the commands planned for ``pieces`` (each
    replacing the previous one from its stamp on)."""
    planner = MotionPlanner(load_config(CONFIG))
    for p in pieces:
        planner.plan_gesture(p, T0)
    return np.array([planner.state_at(T0 + k * (NS_PER_S // 100)).position for k in range(600)])


def test_pieces_with_a_short_first_one_join_without_a_speed_jump():
    """Planned piece by piece (1 s first, each reaching 8 frames into the next), the executed motion
    is the one-piece plan's (a gesture within the limits): no speed jump at the joins. Without the
    overlap each piece slows down towards its final rest before the next one takes over: a jump."""
    base = np.tile(skeleton.MEAN_DIR_VEC, (90, 1))
    seq = GestureSequence("utt-12", T0, base + 0.4 * (gesture(90) - base))
    whole = _executed(seq, [seq])
    speed_whole = np.linalg.norm(np.diff(whole, axis=0), axis=1) * 100  # rad/s
    for overlap, ok in ((8, True), (0, False)):
        q = _executed(seq, split_sequence(seq, max_frames=30, first_frames=15, overlap=overlap))
        speed = np.linalg.norm(np.diff(q, axis=0), axis=1) * 100
        near = [slice(j - 10, j + 10) for j in (100, 300, 500)]  # the joins at 1, 3 and 5 s
        smooth = all(speed[n].max() <= 1.05 * speed_whole[n].max() + 0.02 for n in near)
        assert smooth == ok and (np.abs(q - whole).max() < 0.01) == ok, overlap
