"""The lexicon and markup layer over every backend: the learned models (shipped weights, onnxruntime)
keep their motion except where a lexicon gesture takes over the arms or head, and blend back."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pytest

from gesture_core import skeleton
from gesture_core.contracts import AUDIO_SAMPLE_RATE
from gesture_core.contracts import GESTURE_FPS as FPS
from gesture_core.contracts import Word
from gesture_core.generation.base import SpeechInput, Style
from gesture_core.generation.factory import make_generator
from gesture_core.gestures.body import part_mask, rest_pose
from gesture_core.gestures.layer import GestureLayer, LayeredGenerator, handedness, with_gesture_layer
from gesture_core.models.procedural import ProceduralGenerator
from gesture_core.speech.tts import EspeakTTS


def bone_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (deg) between the bones of poses ``a`` and ``b`` (..., 27) -> (..., 9)."""
    da, db = skeleton.as_directions(a), skeleton.as_directions(b)
    return np.degrees(np.arccos(np.clip(np.sum(da * db, axis=-1), -1, 1)))


def keyframe(layer: GestureLayer, name: str, t: float = 0.0) -> np.ndarray:
    g = layer.lexicon.gestures[name]
    return g.poses[list(g.times).index(t)]


@pytest.fixture(scope="module")
def layer() -> GestureLayer:
    return GestureLayer()


@pytest.fixture(scope="module")
def tts() -> EspeakTTS:
    return EspeakTTS()


@pytest.fixture(scope="module")
def audio(speech_with_clicks) -> np.ndarray:
    return speech_with_clicks(6.0, speech=(0.3, 5.7))


@pytest.mark.parametrize("backend", ["trimodal", "diffusion"])
def test_layer_over_a_learned_backend(backend: str, layer: GestureLayer, audio: np.ndarray) -> None:
    words = [Word("so", 1.9, 2.1), Word("hello", 2.2, 2.7, stress=2.45), Word("there", 2.8, 3.2, stress=2.9)]
    speech = SpeechInput(audio, words)
    model = make_generator(backend)
    layered = with_gesture_layer(model, layer)
    assert isinstance(layered, LayeredGenerator) and layered.name == backend
    style = Style(seed=2)
    assert handedness(style) == "right"
    own = model.generate(speech, style)
    result = layered.generate_with_strokes(speech, style)
    assert result.strokes == ((2.45, "wave"),)
    np.testing.assert_array_equal(layered.generate(speech, style), result.poses)
    t = np.arange(len(own)) / FPS
    lo, hi = (2.45 + x for x in layer.span("wave"))
    outside = (t <= lo) | (t >= hi)
    np.testing.assert_allclose(
        result.poses[outside], own[outside], atol=1e-12
    )  # the model's motion, untouched
    stroke = round((2.45 + layer.config.shift) * FPS)
    diff = bone_angle(result.poses[stroke], keyframe(layer, "wave"))
    arm = part_mask(("right_arm",))
    assert diff[arm].max() < 2.0  # on the stroke keyframe, on time
    np.testing.assert_allclose(result.poses[stroke][np.repeat(~arm, 3)], own[stroke][np.repeat(~arm, 3)])
    # it blends back: the difference to the model's motion shrinks towards the span's end
    tail = (t > 2.45 + layer.active_span("wave")[1]) & (t < hi)
    gap = bone_angle(result.poses[tail], own[tail])[:, arm].max(axis=1)
    assert gap.max() > 30 and gap[-1] < 0.05 * gap.max() and np.all(np.diff(gap[np.argmax(gap) :]) <= 1e-6)


def test_markup_requests_and_suppression_over_a_backend(
    layer: GestureLayer, audio: np.ndarray, caplog
) -> None:
    model = make_generator("trimodal")
    layered = LayeredGenerator(model, layer)
    words = [
        Word("well", 1.0, 1.3, stress=1.1, gesture="nod"),
        Word("calm", 2.5, 3.0, suppress=True),
        Word("words", 3.0, 3.6, suppress=True),
        Word("here", 4.4, 4.8, gesture="no_such_gesture"),
    ]
    speech = SpeechInput(audio, words)
    own = model.generate(speech, Style())
    with caplog.at_level(logging.WARNING, logger="gesture_core.gestures.layer"):
        result = layered.generate_with_strokes(speech, Style())
    assert "'no_such_gesture'" in caplog.text and "valid names: big, down," in caplog.text
    assert result.strokes == ((1.1, "nod"),)  # "here" (a lexicon word) gets nothing: markup asked otherwise
    nod = round((1.1 + layer.config.shift) * FPS)
    head = part_mask(("head",))
    assert bone_angle(result.poses[nod], keyframe(layer, "nod"))[head].max() < 2.0
    calm = round(3.0 * FPS)  # inside the suppressed span the arms and head are at rest
    assert bone_angle(result.poses[calm], rest_pose())[~part_mask(("torso",))].max() < 3.0
    assert bone_angle(own[calm], rest_pose()).max() > 5.0  # ... which the model alone is not


def test_rate_limit_priority_and_the_other_hand(layer: GestureLayer, audio: np.ndarray) -> None:
    words = [Word("I", 0.9 + 0.4 * i, 1.0 + 0.4 * i, stress=0.95 + 0.4 * i) for i in range(6)]
    placed = layer.place(words, None, Style(seed=2))
    assert [p.name for p in placed] == ["self"]  # the pronoun's cooldown and the minimum gap
    words = [Word("hello", 1.2, 1.5, stress=1.3), Word("you", 2.0, 2.2, stress=2.05)]
    placed = layer.place(words, None, Style(seed=2))
    assert [(p.name, p.mirrored) for p in placed] == [("wave", False), ("listener", True)]  # other hand free
    words = [Word("everything", 1.2, 1.6, stress=1.3), Word("you", 2.0, 2.2, stress=2.05)]
    placed = layer.place(words, None, Style(seed=2))
    assert [p.name for p in placed] == ["big"]  # both arms busy: the lower priority gives way


def test_left_handed_style_and_sentence_start(layer: GestureLayer, audio: np.ndarray, caplog) -> None:
    left = next(Style(seed=s) for s in range(50) if handedness(Style(seed=s)) == "left")
    placed = layer.place([Word("hello", 2.0, 2.5, stress=2.2)], None, left)
    assert placed[0].mirrored
    poses = layer.apply(np.tile(rest_pose(), (90, 1)), [], placed)
    stroke = round((2.2 + layer.config.shift) * FPS)
    assert bone_angle(poses[stroke], rest_pose())[part_mask(("left_arm",))].max() > 45  # waves with the left
    assert bone_angle(poses[stroke], rest_pose())[part_mask(("right_arm",))].max() < 1e-6
    with caplog.at_level(logging.INFO, logger="gesture_core.gestures.layer"):
        early = layer.place([Word("hello", 0.0, 0.4, stress=0.2)], None, Style(seed=2))
    assert early[0].time > 0.2 and "stroke" in caplog.text  # no time to raise the arm: later, and logged
    assert early[0].time + layer.span("wave")[0] == pytest.approx(0.0)


def test_procedural_renders_the_layer_itself(layer: GestureLayer) -> None:
    gen = ProceduralGenerator(layer=layer)
    assert with_gesture_layer(gen) is gen


def test_preroll_prepares_a_gesture_on_the_first_word(layer: GestureLayer, tts) -> None:
    speech = tts.synthesize("Hello, my friend.")
    assert speech.words[0].stress is not None
    need = layer.preroll(speech.words)
    assert need == pytest.approx(-(speech.words[0].stress + layer.span("wave")[0]), abs=2e-3)
    assert need > 0.3  # espeak-ng starts speaking at once; raising the arm takes longer
    later = speech.delayed(need)
    n = later.audio.size - speech.audio.size
    assert n >= need * AUDIO_SAMPLE_RATE and np.all(later.audio[:n] == 0)
    for a, b in zip(speech.words, later.words):
        dt = n / AUDIO_SAMPLE_RATE
        assert (b.start - a.start, b.end - a.end) == pytest.approx((dt, dt))
        assert (a.stress is None and b.stress is None) or b.stress - a.stress == pytest.approx(dt)
    assert layer.preroll(later.words) == pytest.approx(0.0, abs=1e-4)
    placed = layer.place(later.words, None, Style())[0]
    assert placed.name == "wave" and placed.time == later.words[0].stress  # on its syllable, not moved later
    calm = [replace(w, suppress=True) for w in speech.words]
    assert layer.preroll(calm) == 0.0  # a suppressed word gets no gesture to prepare
    asked = [replace(speech.words[0], word="well", gesture="big"), *speech.words[1:]]
    assert layer.preroll(asked) == pytest.approx(-(speech.words[0].stress + layer.span("big")[0]), abs=2e-3)


def test_a_given_layer_replaces_the_procedural_generators_own(layer: GestureLayer) -> None:
    gen = ProceduralGenerator()
    assert with_gesture_layer(gen, layer) is gen and gen.layer is layer
