"""The procedural gesture generator: format, determinism, style, beat timing, rest and idle motion.

Audio is synthetic (the ``speech_with_clicks`` fixture): a speech-like carrier (a harmonic tone,
smoothly faded in and out, so it has no sharp onset of its own) with noise clicks at known times.
No words are given here (audio only: the strokes come from acoustic prominence); stroke placement on
stressed syllables of words is tested in ``test_gesture_planner.py``.

A stroke's *apex* (its end) is where the stroking wrist's speed has a local minimum (central
differences of the rebuilt joint positions); it is planned ``LayerConfig.apex_delay_s`` after the
stroke's target (``LayerConfig.shift``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gesture_core import skeleton
from gesture_core.contracts import AUDIO_SAMPLE_RATE as SR
from gesture_core.contracts import GESTURE_FPS as FPS
from gesture_core.errors import ConfigError
from gesture_core.features import extract_features
from gesture_core.generation.base import SpeechInput, Style
from gesture_core.gestures.planner import PlannerConfig
from gesture_core.models.procedural import (
    ARM_LIMITS,
    ArmAngles,
    BodyAngles,
    ProceduralConfig,
    ProceduralGenerator,
    pose_from_angles,
    rest_pose,
)

CLICKS = (1.0, 1.6, 2.5, 3.1, 3.9, 4.5, 5.2)  # s, at least PlannerConfig.min_gap_s apart
#: The main test track: 6 s, speech from 0.3 s to 5.6 s, clicks at CLICKS.
TRACK = {"duration": 6.0, "speech": (0.3, 5.6), "clicks": CLICKS}
WRISTS = {"left": skeleton.JOINTS.index("left_wrist"), "right": skeleton.JOINTS.index("right_wrist")}


def wrist_speed(poses: np.ndarray, arm: str) -> np.ndarray:
    """Speed (n,) of one wrist, TED units per frame (central differences)."""
    return np.linalg.norm(np.gradient(skeleton.joint_positions(poses)[:, WRISTS[arm]], axis=0), axis=1)


def bone_angles_from_rest(poses: np.ndarray) -> np.ndarray:
    """Angle (rad) of every bone from its rest direction, (n, 9)."""
    d = skeleton.as_directions(poses)
    rest = skeleton.as_directions(rest_pose())
    return np.arccos(np.clip(np.sum(d * rest, axis=-1), -1, 1))


@pytest.fixture(scope="module")
def gen() -> ProceduralGenerator:
    return ProceduralGenerator()


@pytest.fixture(scope="module")
def track(speech_with_clicks) -> np.ndarray:
    return speech_with_clicks(**TRACK)


@pytest.fixture(scope="module")
def track_poses(gen: ProceduralGenerator, track: np.ndarray) -> np.ndarray:
    return gen.generate(SpeechInput(track), Style(seed=3))


# -- the arm model -------------------------------------------------------------------------------------


def test_rest_pose_is_upright_with_arms_at_the_sides() -> None:
    d = skeleton.as_directions(rest_pose())
    bone = {name: d[i] for i, name in enumerate(skeleton.BONE_NAMES)}
    assert bone["spine"][1] < -0.99  # up is -y
    assert bone["neck"][1] < -0.8 and bone["head"][1] < -0.8
    for side, out in (("left", -1), ("right", 1)):
        upper, fore = bone[f"{side}_upper_arm"], bone[f"{side}_forearm"]
        assert upper[1] > 0.95 and out * upper[0] > 0 and upper[2] > 0  # down, a little out and forward
        assert fore[1] > 0.8 and fore[2] > 0.1  # down and slightly forward


angle = st.floats(-1.0, 1.0)


@settings(max_examples=60, deadline=None)
@given(
    flex=st.floats(*ARM_LIMITS["flex"]),
    abd=st.floats(*ARM_LIMITS["abd"]),
    twist=st.floats(*ARM_LIMITS["twist"]),
    elbow=st.floats(*ARM_LIMITS["elbow"]),
    torso=st.tuples(angle, angle, angle, angle),
)
def test_arm_model_geometry(flex: float, abd: float, twist: float, elbow: float, torso: tuple) -> None:
    arm = ArmAngles(flex, abd, twist, elbow)
    pose = pose_from_angles(BodyAngles(*torso, left=arm, right=arm), 1)[0]
    d = skeleton.as_directions(pose)
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0, atol=1e-12)
    for side in ("left", "right"):
        upper = d[skeleton.BONE_NAMES.index(f"{side}_upper_arm")]
        fore = d[skeleton.BONE_NAMES.index(f"{side}_forearm")]
        # The elbow angle is the angle between upper arm and forearm, whatever the rest does.
        assert upper @ fore == pytest.approx(np.cos(elbow), abs=1e-9)
    # Left and right mirror each other across the body's sagittal plane when the torso is still.
    still = pose_from_angles(BodyAngles(0.0, 0.0, torso[2], torso[3], left=arm, right=arm), 1)[0]
    ds = skeleton.as_directions(still)
    for a, b in (("left_upper_arm", "right_upper_arm"), ("left_forearm", "right_forearm")):
        la, rb = ds[skeleton.BONE_NAMES.index(a)], ds[skeleton.BONE_NAMES.index(b)]
        np.testing.assert_allclose(la * [-1, 1, 1], rb, atol=1e-12)


def test_flexion_raises_the_arm_forward_and_abduction_sideways() -> None:
    def upper_right(**kw: float) -> np.ndarray:
        arm = ArmAngles(**{"flex": 0.0, "abd": 0.0, "twist": 0.0, "elbow": 0.0, **kw})
        return skeleton.as_directions(pose_from_angles(BodyAngles(0, 0, 0, 0, arm, arm), 1)[0])[7]

    np.testing.assert_allclose(upper_right(flex=np.pi / 2), [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(upper_right(abd=np.pi / 2), [1, 0, 0], atol=1e-12)


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match="procedural.ramp_s"):
        ProceduralConfig(ramp_s=0.0)
    with pytest.raises(ConfigError, match="planner.stroke_s"):
        PlannerConfig(stroke_s=0.0)
    with pytest.raises(ConfigError, match="loud_db"):
        PlannerConfig(loud_db=-60.0)
    with pytest.raises(ConfigError, match="min_gap_s"):
        PlannerConfig(min_gap_s=0.1)


# -- output format and style ---------------------------------------------------------------------------


@pytest.mark.parametrize("duration", [0.01, 1.0, 2.0, 3.37])
def test_output_format(gen: ProceduralGenerator, speech_with_clicks, duration: float) -> None:
    speech = SpeechInput(speech_with_clicks(duration, clicks=(0.5,)))
    poses = gen.generate(speech, Style())
    assert poses.shape == (speech.n_frames, skeleton.POSE_DIM)
    assert speech.n_frames == max(1, int(np.ceil(duration * FPS)))
    np.testing.assert_allclose(np.linalg.norm(skeleton.as_directions(poses), axis=-1), 1.0, atol=1e-9)


def test_same_seed_same_output_other_seed_differs(
    gen: ProceduralGenerator, track: np.ndarray, track_poses
) -> None:
    again = gen.generate(SpeechInput(track), Style(seed=3))
    np.testing.assert_array_equal(again, track_poses)
    other = gen.generate(SpeechInput(track), Style(seed=4))
    assert np.abs(other - track_poses).max() > 0.05


def test_amplitude_zero_is_the_rest_pose(gen: ProceduralGenerator, track: np.ndarray) -> None:
    poses = gen.generate(SpeechInput(track), Style(amplitude=0.0))
    np.testing.assert_allclose(poses, np.broadcast_to(rest_pose(), poses.shape), atol=1e-9)


def test_amplitude_scales_gesture_size(gen: ProceduralGenerator, track: np.ndarray, track_poses) -> None:
    small = gen.generate(SpeechInput(track), Style(seed=3, amplitude=0.5))
    big = bone_angles_from_rest(track_poses).mean()
    assert 0.3 * big < bone_angles_from_rest(small).mean() < 0.7 * big


def test_variability_zero_removes_seeded_variation(
    gen: ProceduralGenerator, track: np.ndarray, track_poses
) -> None:
    # Same seed: the same strokes on the same hands, only the sizes of the variations differ.
    plans = [gen.plan(SpeechInput(track), Style(seed=3, variability=v)) for v in (0.0, 1.0, 2.0)]
    assert [(s.time, s.arms) for s in plans[0].strokes] == [(s.time, s.arms) for s in plans[2].strokes]
    sizes = np.array([[s.size for s in plan.strokes] for plan in plans])
    assert np.abs(sizes[1] - sizes[0]).max() > 0.01  # seeded jitter, linear in the variability
    np.testing.assert_allclose(sizes[2] - sizes[0], 2 * (sizes[1] - sizes[0]), atol=1e-12)
    assert all(s.place == (0.0, 0.0, 0.0) for s in plans[0].strokes)
    steady = gen.generate(SpeechInput(track), Style(seed=3, variability=0.0))
    assert np.abs(steady - track_poses).max() > 0.01


# -- timing (audio only) -------------------------------------------------------------------------------


def test_strokes_land_on_every_click(gen: ProceduralGenerator, track: np.ndarray) -> None:
    """Audio only: the clicks are the prominent moments, and every one gets a stroke, nothing else does."""
    times = np.array([s.time for s in gen.plan(SpeechInput(track), Style(seed=3)).strokes])
    for c in CLICKS:
        assert np.min(np.abs(times - c)) <= 1.5 / FPS, (
            f"no stroke within 1.5 frames of the click at {c} s: {times}"
        )
    stray = [t for t in times if np.min(np.abs(np.array(CLICKS) - t)) > 1.5 / FPS]
    assert not stray, f"strokes away from any click: {stray}"


@pytest.mark.parametrize("seed", [0, 1, 2, 5])
def test_stroke_ends_at_its_apex(gen: ProceduralGenerator, track: np.ndarray, seed: int) -> None:
    """Each planned stroke is a fast phase of its wrist that ends ``shift`` after its target: the
    speed peaks inside the stroke and has a local minimum within a frame of the apex."""
    speech = SpeechInput(track)
    result = gen.generate_with_strokes(speech, Style(seed=seed))
    shift = gen.layer.config.shift
    stroke_frames = round(gen.planner.config.stroke_s * FPS)
    plan = gen.plan(speech, Style(seed=seed))
    for stroke in plan.strokes:
        apex = (stroke.time + shift) * FPS  # between two frames when not a whole frame
        k = int(np.ceil(apex - 1e-9))
        for arm in stroke.arms:
            speed = wrist_speed(result.poses, arm)
            phase = speed[k - stroke_frames : k + 1]
            peak = int(np.argmax(phase))
            assert 0 < peak < stroke_frames, f"{arm} stroke ending at frame {apex} has no fast phase: {phase}"
            near = range(int(np.floor(apex + 1e-9)) - 1, k + 2)  # within a frame of the apex
            ends = [j for j in near if speed[j] <= min(speed[j - 1], speed[j + 1])]
            assert ends, f"{arm} stroke does not end at frame {apex}: {speed[k - 3 : k + 3]}"
    assert [t for t, label in result.strokes if label == "beat"] == [s.time for s in plan.strokes]


def test_strokes_follow_pitch_accents_without_onsets(gen: ProceduralGenerator) -> None:
    """A smoothly faded tone whose pitch rises 5 semitones three times: strokes on the pitch peaks."""
    t = np.arange(5 * SR) / SR
    accents = (1.2, 2.3, 3.5)
    semitones = sum(5 * np.exp(-0.5 * ((t - a) / 0.08) ** 2) for a in accents)
    phase = 2 * np.pi * np.cumsum(130 * 2 ** (semitones / 12)) / SR
    fade = np.clip(t / 0.4, 0, 1) * np.clip((4.6 - t) / 0.3, 0, 1)
    audio = 0.1 * fade * sum(np.sin(h * phase) / h for h in range(1, 6))
    times = [s.time for s in gen.plan(SpeechInput(audio), Style(seed=0)).strokes]
    for a in accents:
        assert np.min(np.abs(np.array(times) - a)) <= 1.5 / FPS, (
            f"no stroke at the pitch accent {a} s: {times}"
        )


# -- energy, pauses and idle ---------------------------------------------------------------------------


def test_energy_envelope_drives_amplitude(gen: ProceduralGenerator, speech_with_clicks) -> None:
    loud = gen.generate(SpeechInput(speech_with_clicks(**TRACK, level=1.0)), Style(seed=3))
    quiet = gen.generate(SpeechInput(speech_with_clicks(**TRACK, level=0.15)), Style(seed=3))
    speaking = slice(int(1.0 * FPS), int(5.0 * FPS))
    loud_dev = bone_angles_from_rest(loud)[speaking].mean()
    quiet_dev = bone_angles_from_rest(quiet)[speaking].mean()
    assert loud_dev > 1.3 * quiet_dev > 0


def test_hands_return_to_rest_in_a_long_pause(gen: ProceduralGenerator, speech_with_clicks) -> None:
    audio = speech_with_clicks(5.0, speech=(0.2, 2.0), clicks=(0.8, 1.5))
    dev = np.degrees(bone_angles_from_rest(gen.generate(SpeechInput(audio), Style(seed=1))))
    assert dev[int(0.8 * FPS) : int(1.8 * FPS)].max() > 20  # gesturing while speaking
    assert dev[int(3.5 * FPS) :].max() < 3  # back at rest (idle motion only) 1.5 s into the pause


def test_short_pause_keeps_the_hands_up(gen: ProceduralGenerator, speech_with_clicks) -> None:
    """A 0.3 s gap between two phrases is bridged: the hands stay in gesture space."""
    a = speech_with_clicks(5.0, speech=(0.2, 2.0), clicks=(0.8,))
    b = speech_with_clicks(5.0, speech=(2.3, 4.5), clicks=(3.5,))
    dev = np.degrees(bone_angles_from_rest(gen.generate(SpeechInput(a + b), Style(seed=1))))
    forearms = [skeleton.BONE_NAMES.index("left_forearm"), skeleton.BONE_NAMES.index("right_forearm")]
    assert dev[int(2.15 * FPS), forearms].max() > 20  # the arm that gestures stays up


def test_idle_breathing_in_silence(gen: ProceduralGenerator) -> None:
    poses = gen.generate(SpeechInput(np.zeros(16 * SR)), Style(seed=2))
    dev = np.degrees(bone_angles_from_rest(poses))
    assert 0.2 < dev.max() < 3.0  # present, but small
    # Breathing lifts both shoulders together: the summed collar height oscillates at ~0.25 Hz.
    d = skeleton.as_directions(poses)
    lift = (
        d[:, skeleton.BONE_NAMES.index("left_collar"), 1] + d[:, skeleton.BONE_NAMES.index("right_collar"), 1]
    )
    spectrum = np.abs(np.fft.rfft(lift - lift.mean()))
    freq = np.fft.rfftfreq(len(lift), 1 / FPS)
    assert abs(freq[np.argmax(spectrum)] - 0.25) < 0.07


# -- inputs --------------------------------------------------------------------------------------------


def test_given_features_are_used(
    gen: ProceduralGenerator, track: np.ndarray, track_poses: np.ndarray
) -> None:
    """Features passed in drive the motion: silent audio + the click track's features = click-track motion."""
    features = extract_features(track, "test")
    poses = gen.generate(SpeechInput(np.zeros_like(track), features=features), Style(seed=3))
    np.testing.assert_allclose(poses, track_poses, atol=1e-9)


def test_seed_poses_continue_the_previous_window(gen: ProceduralGenerator, track: np.ndarray) -> None:
    raised = gen.generate(SpeechInput(track), Style(seed=3))[int(1.2 * FPS) : int(1.2 * FPS) + 4]
    silence = SpeechInput(np.zeros(2 * SR))
    alone = gen.generate(silence, Style())
    joined = gen.generate(silence, Style(), seed_poses=raised)
    step_alone = np.abs(alone[0] - raised[-1]).max()
    assert np.abs(joined[0] - raised[-1]).max() < 0.5 * step_alone  # starts near the seed ...
    np.testing.assert_allclose(joined[4:], alone[4:], atol=1e-12)  # ... and is itself from frame 4 on
    np.testing.assert_allclose(np.linalg.norm(skeleton.as_directions(joined), axis=-1), 1.0, atol=1e-9)
