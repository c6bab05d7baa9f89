"""The gesture planner through the procedural generator: strokes on synthetic stressed syllables,
chained strokes, retraction only in real pauses, shoulders, hands and sizes from emphasis and style.

The speech is a synthetic speech-like tone (``speech_with_clicks``) with timed words whose stressed
syllables are given (as the TTS gives them): the strokes must land exactly there. Words are chosen
outside the gesture lexicon, except where a test is about a lexicon gesture.
"""

from __future__ import annotations

import numpy as np
import pytest

from gesture_core import skeleton
from gesture_core.contracts import GESTURE_FPS as FPS
from gesture_core.contracts import Word
from gesture_core.generation.base import SpeechInput, Style
from gesture_core.gestures.body import rest_pose
from gesture_core.gestures.layer import handedness
from gesture_core.models.procedural import ProceduralGenerator

#: Stressed syllables (s) of the content words of the test phrase.
STRESS = (0.9, 1.6, 2.3, 3.1, 3.8, 4.6, 5.2)
CONTENT = ("robots", "carry", "heavy", "boxes", "across", "busy", "streets")


def phrase(stress=STRESS, content=CONTENT) -> list[Word]:
    """Content words (stressed at ``stress``) with an unstressed "the" before each."""
    words = []
    for t, w in zip(stress, content):
        words.append(Word("the", t - 0.3, t - 0.15))
        words.append(Word(w, t - 0.12, t + 0.25, stress=t))
    return words


def wrist_speed(poses: np.ndarray, arm: str) -> np.ndarray:
    return np.linalg.norm(
        np.gradient(skeleton.joint_positions(poses)[:, skeleton.JOINTS.index(f"{arm}_wrist")], axis=0), axis=1
    )


def angle_from_rest(poses: np.ndarray, bone: str) -> np.ndarray:
    """Angle (deg) of one bone from its rest direction, (n,)."""
    b = skeleton.BONE_NAMES.index(bone)
    d = skeleton.as_directions(poses)[:, b]
    return np.degrees(np.arccos(np.clip(d @ skeleton.as_directions(rest_pose())[b], -1, 1)))


@pytest.fixture(scope="module")
def gen() -> ProceduralGenerator:
    return ProceduralGenerator()


@pytest.fixture(scope="module")
def tone(speech_with_clicks) -> np.ndarray:
    return speech_with_clicks(6.0, speech=(0.3, 5.6))


def test_strokes_land_on_the_stressed_syllables(gen: ProceduralGenerator, tone: np.ndarray) -> None:
    """Every stressed content word gets a stroke exactly at its stress time, the unstressed words none;
    the stroke's fast phase peaks around the stress and its apex (a wrist speed minimum) falls
    ``apex_delay_s`` after it, inside the stressed syllable."""
    speech = SpeechInput(tone, phrase())
    for seed in (0, 1, 2):
        result = gen.generate_with_strokes(speech, Style(seed=seed))
        assert [t for t, label in result.strokes] == list(STRESS)
        assert {label for _, label in result.strokes} == {"beat"}
        shift = gen.layer.config.shift
        for stroke in gen.plan(speech, Style(seed=seed)).strokes:
            apex = round((stroke.time + shift) * FPS)
            for arm in stroke.arms:
                speed = wrist_speed(result.poses, arm)
                minima = [
                    j for j in (apex - 1, apex, apex + 1) if speed[j] <= min(speed[j - 1], speed[j + 1])
                ]
                assert minima, (seed, stroke, speed[apex - 3 : apex + 4])
                # the stroke phase (from its start to the apex) speeds up and slows down again
                window = np.arange(apex - round(gen.planner.config.stroke_s * FPS) - 1, apex + 1)
                k = int(np.argmax(speed[window]))
                assert 0 < k < len(window) - 1 and speed[window[k]] > 2 * speed[apex - 1 : apex + 2].min()
                assert stroke.time - 0.3 <= window[k] / FPS <= stroke.time + 0.05, (
                    seed,
                    stroke.time,
                    window[k],
                )


def test_word_timings_without_stress_and_audio_alone(gen: ProceduralGenerator, speech_with_clicks) -> None:
    """ASR words carry no stress: a word's stroke goes to its most prominent moment (here a click
    inside it); with no words at all the clicks still get strokes."""
    clicks = (1.05, 2.4, 3.9)
    audio = speech_with_clicks(5.0, speech=(0.3, 4.6), clicks=clicks)
    words = [Word(w, c - 0.2, c + 0.2) for w, c in zip(("seven", "purple", "lanterns"), clicks)]
    for given in (words, []):
        times = [t for t, _ in gen.generate_with_strokes(SpeechInput(audio, given), Style(seed=4)).strokes]
        for c in clicks:
            assert np.min(np.abs(np.array(times) - c)) <= 1.5 / FPS, (given, times)


def test_strokes_chain_in_the_gesture_space_and_retract_only_in_pauses(
    gen: ProceduralGenerator, speech_with_clicks
) -> None:
    """Two phrases 1.2 s apart: within each the hand stays in the gesture space between strokes (no
    return to rest); in the pause between them it goes back to rest; a 0.3 s gap is bridged."""
    a = phrase((0.8, 1.4, 2.0), ("robots", "carry", "boxes"))
    b = phrase((4.0, 4.6, 5.2), ("across", "busy", "streets"))
    audio = speech_with_clicks(6.5, speech=(0.3, 2.4)) + speech_with_clicks(6.5, speech=(3.6, 5.7))
    poses = gen.generate(SpeechInput(audio, a + b), Style(seed=0))
    forearm = np.maximum(angle_from_rest(poses, "left_forearm"), angle_from_rest(poses, "right_forearm"))
    assert forearm[round(0.8 * FPS) : round(2.1 * FPS)].min() > 15  # chained strokes: never back at rest
    assert forearm[round(4.0 * FPS) : round(5.3 * FPS)].min() > 15
    assert forearm[round(2.6 * FPS) : round(3.4 * FPS)].min() < 2  # the real pause: back at rest
    # a 0.3 s gap is no real pause: the hands stay up through it
    short = speech_with_clicks(6.5, speech=(0.3, 2.4)) + speech_with_clicks(6.5, speech=(2.7, 5.0))
    c = phrase((3.2, 3.8, 4.4), ("across", "busy", "streets"))
    poses = gen.generate(SpeechInput(short, a + c), Style(seed=0))
    forearm = np.maximum(angle_from_rest(poses, "left_forearm"), angle_from_rest(poses, "right_forearm"))
    assert forearm[round(2.55 * FPS)] > 15


def test_shoulders_take_part_in_emphatic_strokes(gen: ProceduralGenerator, tone: np.ndarray) -> None:
    """An emphatic stroke moves the upper arm (shoulder raise and opening) and lifts the shoulders
    in its preparation, clearly more than a plain beat."""
    speech = SpeechInput(tone, phrase())
    upper_moves = {True: [], False: []}
    for seed in range(6):
        plan = gen.plan(speech, Style(seed=seed))
        poses = gen.generate(speech, Style(seed=seed))
        shift = gen.layer.config.shift
        for s in plan.strokes:
            apex = round((s.time + shift) * FPS)
            top = apex - round(gen.planner.config.stroke_s * FPS)
            for arm in s.arms:
                upper = skeleton.as_directions(poses)[:, skeleton.BONE_NAMES.index(f"{arm}_upper_arm")]
                upper_moves[s.emphatic].append(
                    np.degrees(np.arccos(np.clip(upper[top] @ upper[apex], -1, 1)))
                )
    assert upper_moves[True] and upper_moves[False]
    assert np.median(upper_moves[True]) > 10 and np.median(upper_moves[True]) > 1.5 * np.median(
        upper_moves[False]
    )


def test_hands_and_sizes_vary_with_emphasis_and_style(gen: ProceduralGenerator, tone: np.ndarray) -> None:
    arms, hands = set(), set()
    for seed in range(12):
        hands.add(handedness(Style(seed=seed)))
        for s in gen.plan(SpeechInput(tone, phrase()), Style(seed=seed)).strokes:
            arms.add(s.arms)
    assert hands == {"left", "right"}
    assert {("left",), ("right",), ("left", "right")} <= arms
    # stronger cues make bigger strokes (no seeded jitter at variability 0)
    weak = [Word("the", t - 0.3, t - 0.15) for t in STRESS] + [
        Word(w, t - 0.12, t + 0.25, stress=t) for t, w in zip(STRESS, CONTENT)
    ]
    weak.sort(key=lambda w: w.start)
    words = [
        Word("it", w.start, w.end, stress=w.stress) if w.word == "boxes" else w for w in weak
    ]  # a function word
    plan = gen.plan(SpeechInput(tone, words), Style(seed=0, variability=0.0))
    sizes = {round(s.time, 2): s.size for s in plan.strokes}
    assert 3.1 not in sizes or sizes[3.1] < min(v for k, v in sizes.items() if k != 3.1)


def test_a_lexicon_word_gets_its_gesture_and_no_beat_on_that_arm(
    gen: ProceduralGenerator, tone: np.ndarray
) -> None:
    words = phrase()
    k = next(i for i, w in enumerate(words) if w.word == "boxes")
    words[k] = Word("everything", words[k].start, words[k].end, stress=words[k].stress)  # "big": both arms
    result = gen.generate_with_strokes(SpeechInput(tone, words), Style(seed=0))
    assert (3.1, "big") in result.strokes
    lo, hi = (3.1 + x for x in gen.layer.span("big"))
    assert not [t for t, label in result.strokes if label == "beat" and lo <= t <= hi]
    g = gen.layer.lexicon.gestures["big"]
    at = round((3.1 + gen.layer.config.shift) * FPS)
    key = skeleton.as_directions(g.poses[list(g.times).index(0.0)])
    got = skeleton.as_directions(result.poses[at])
    for bone in ("left_forearm", "right_forearm", "left_upper_arm", "right_upper_arm"):
        b = skeleton.BONE_NAMES.index(bone)
        assert np.degrees(np.arccos(np.clip(key[b] @ got[b], -1, 1))) < 3, (
            bone
        )  # the stroke keyframe, on time
