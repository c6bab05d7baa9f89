"""Semantic timing: word -> stroke offsets on motion with strokes at known times."""

from __future__ import annotations

import numpy as np
import pytest
from test_metrics_sync import stroke_motion

from gesture_core.contracts import Word
from gesture_core.data.format import Phone
from gesture_core.metrics import timing

WORDS = [Word("Hello", 1.0, 1.4), Word("the", 2.0, 2.1), Word("big", 3.0, 3.3), Word("you", 5.0, 5.2)]


def test_offsets_to_the_nearest_stroke():
    poses = stroke_motion(np.array([0.9, 3.2, 4.5]), 6.0)  # strokes lead 'hello', lag 'big'; none near 'you'
    items = timing.word_stroke_offsets(poses, WORDS, max_offset=0.4)
    assert [i.word for i in items] == ["Hello", "big", "you"]  # 'the' is not a trigger word
    assert items[0].offset == pytest.approx(-0.1, abs=0.5 / 15) and items[1].offset == pytest.approx(
        0.2, abs=0.5 / 15
    )
    assert items[2].stroke is None and items[2].offset is None  # the 4.5 s stroke is 0.5 s away
    summary = timing.summarize_offsets(items)
    assert summary["n_words"] == 3 and summary["n_with_stroke"] == 2
    assert summary["median_offset"] == pytest.approx(0.05, abs=0.5 / 15)
    assert summary["on_word_fraction"] == pytest.approx(2 / 3)
    # a lexicon of the caller's: only "the"; an empty set: every content word
    assert [i.word for i in timing.word_stroke_offsets(poses, WORDS, triggers=["THE"])] == ["the"]
    assert [i.word for i in timing.word_stroke_offsets(poses, WORDS, triggers=[])] == ["Hello", "big"]


def test_the_anchor_is_the_stressed_vowel_when_phones_are_given():
    phones = [Phone("HH", 1.0, 1.05), Phone("AH0", 1.05, 1.15), Phone("L", 1.15, 1.2), Phone("OW1", 1.2, 1.4)]
    assert timing.word_anchor(WORDS[0], phones) == pytest.approx(1.2)
    assert timing.word_anchor(WORDS[2], phones) == pytest.approx(3.0)  # no phone of its own: its start
    items = timing.word_stroke_offsets(stroke_motion(np.array([1.2]), 3.0), WORDS[:1], phones=phones)
    assert items[0].offset == pytest.approx(0.0, abs=0.5 / 15)
    assert np.isnan(timing.summarize_offsets([])["median_offset"])
