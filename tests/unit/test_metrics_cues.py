"""Speech cues: syllable nuclei and prominent syllables of synthetic vowels; stressed syllables of phones."""

from __future__ import annotations

import numpy as np
import pytest

from gesture_core.contracts import Word
from gesture_core.data.format import Phone
from gesture_core.metrics import cues

SR = 16000


def vowels(onsets: list[float], levels: list[float], duration: float) -> np.ndarray:
    """16 kHz audio: a 150 Hz harmonic vowel (harmonics to 3 kHz; 20 ms rise, 120 ms hold, 60 ms decay)
    starting at each of ``onsets`` with amplitude ``levels``, over a little noise."""
    t = np.arange(int(0.2 * SR)) / SR
    env = np.minimum(t / 0.02, 1.0) * np.clip((0.2 - t) / 0.06, 0.0, 1.0)
    vowel = env * sum(np.sin(2 * np.pi * 150 * h * t) / h for h in range(1, 21))
    audio = 1e-4 * np.random.default_rng(0).standard_normal(int(duration * SR))
    for onset, level in zip(onsets, levels):
        i = int(onset * SR)
        audio[i : i + vowel.size] += level * vowel / np.abs(vowel).max()
    return audio.astype(np.float32)


def test_nuclei_and_the_prominent_ones():
    onsets = [0.3, 0.7, 1.1, 1.5, 1.9, 2.3]
    audio = vowels(onsets, [0.5, 0.1, 0.1, 0.5, 0.1, 0.5], 2.8)
    found, prominence = cues.syllable_nuclei(audio)
    np.testing.assert_allclose(found, onsets, atol=0.05)
    assert prominence[[0, 3, 5]].min() > prominence[[1, 2, 4]].max()
    np.testing.assert_allclose(cues.prominent_syllables(audio), [0.3, 1.5, 2.3], atol=0.05)
    assert cues.prominent_syllables(np.zeros(SR, np.float32)).size == 0


def test_stressed_syllables_of_content_words():
    words = [Word("I", 0.0, 0.2), Word("really", 0.2, 0.6), Word("like", 0.6, 0.8), Word("robots.", 0.8, 1.4)]
    labels = ["AY1", "R", "IH1", "L", "IY0", "L", "AY1", "R", "OW1", "B", "AA2", "TS"]
    edges = [0.0, 0.2, 0.25, 0.4, 0.5, 0.6, 0.65, 0.8, 0.85, 1.0, 1.1, 1.3, 1.4]
    phones = [Phone(p, a, b) for p, a, b in zip(labels, edges[:-1], edges[1:])]
    np.testing.assert_allclose(cues.stressed_syllables(phones, words), [0.85])  # I, really, like: function
    np.testing.assert_allclose(
        cues.stressed_syllables(phones, words, content_only=False), [0.0, 0.25, 0.65, 0.85]
    )
    np.testing.assert_allclose(cues.word_onsets(words, content_only=True), [0.8])
    assert cues.is_content_word("Robots,") and not cues.is_content_word("THE")
    with pytest.raises(Exception, match="fraction"):
        cues.prominent_syllables(np.zeros(100), fraction=0.0)


def test_cue_agreement():
    p, r = cues.cue_agreement([0.1, 0.5, 2.0], [0.12, 0.55, 1.0, 3.0], tolerance=0.1)
    assert (p, r) == (pytest.approx(2 / 3), pytest.approx(2 / 4))
    assert all(np.isnan(cues.cue_agreement([], [1.0])))
