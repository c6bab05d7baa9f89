"""Praat TextGrid word/phone alignments, and the BEAT2 converter carrying them with the motion."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from synthetic_clips import write_textgrid

from gesture_core.data import beat2, textgrid
from gesture_core.data import format as fmt
from gesture_core.errors import DataError


WORDS = [(0, 0.5, ""), (0.5, 0.9, "hello"), (0.9, 1.6, "robot"), (1.6, 2.1, 'say "hi"'), (2.1, 3, "")]
PHONES = [(0, 0.5, ""), (0.5, 0.6, "HH"), (0.6, 0.7, "AH0"), (0.7, 0.9, "OW1"), (0.9, 1.0, "R"),
          (1.0, 1.2, "OW1"), (1.2, 1.6, "B"), (1.6, 3.0, "")]  # fmt: skip


@pytest.mark.parametrize("utf16", [False, True])
def test_words_and_phones(tmp_path, utf16):
    write_textgrid(tmp_path / "a.TextGrid", {"words": WORDS, "phones": PHONES}, utf16)
    words = textgrid.read_words(tmp_path / "a.TextGrid")
    assert [(w.word, w.start, w.end) for w in words] == [
        ("hello", 0.5, 0.9), ("robot", 0.9, 1.6), ('say "hi"', 1.6, 2.1)
    ]  # fmt: skip
    phones = textgrid.read_phones(tmp_path / "a.TextGrid")
    assert [p.phone for p in phones] == ["HH", "AH0", "OW1", "R", "OW1", "B"]


def test_missing_tier_and_wrong_format(tmp_path):
    write_textgrid(tmp_path / "a.TextGrid", {"words": WORDS})
    assert textgrid.read_phones(tmp_path / "a.TextGrid") == []  # phones are optional
    with pytest.raises(DataError, match=r"no tier 'syllables' \(tiers: \['words'\]\)"):
        textgrid.read_tier(tmp_path / "a.TextGrid", "syllables")
    (tmp_path / "b.TextGrid").write_text("0 3\n")
    with pytest.raises(DataError, match="not a Praat TextGrid"):
        textgrid.read_words(tmp_path / "b.TextGrid")


def test_beat2_clip_carries_the_alignment_cut_with_the_motion(tmp_path):
    np.savez(tmp_path / "take.npz", poses=np.zeros((91, 165), np.float32), mocap_frame_rate=np.int32(30))
    sf.write(tmp_path / "take.wav", np.zeros(48000, np.float32), 16000)
    write_textgrid(tmp_path / "take.TextGrid", {"words": WORDS, "phones": PHONES})
    info = beat2.convert(tmp_path / "take.npz", None, tmp_path / "out", "s", start=0.8)  # frames 12-46
    clip = fmt.load_clip(tmp_path / "out", info)
    assert [(w.word, round(w.start, 3), round(w.end, 3)) for w in clip.words] == [
        ("robot", 0.1, 0.8), ('say "hi"', 0.8, 1.3)
    ]  # fmt: skip
    assert [(p.phone, round(p.start, 3)) for p in clip.phones] == [("R", 0.1), ("OW1", 0.2), ("B", 0.4)]
    info = beat2.convert(tmp_path / "take.npz", None, tmp_path / "out", "s", clip_id="whole")
    assert len(fmt.load_clip(tmp_path / "out", info).words) == 3


@pytest.mark.shared
def test_real_beat2_alignment(shared_dir):
    tg = shared_dir / "data" / "beat2_scott" / "2_scott_0_1_1.TextGrid"
    words, phones = textgrid.read_words(tg), textgrid.read_phones(tg)
    assert len(words) == 199 and words[0].word == "the" and words[0].start == pytest.approx(1.42)
    assert sum(p.phone.endswith("1") for p in phones) > 100
    assert all(a.start <= b.start for a, b in zip(words, words[1:]))


def test_no_textgrid_option(tmp_path):
    np.savez(tmp_path / "take.npz", poses=np.zeros((31, 165), np.float32), mocap_frame_rate=np.int32(30))
    sf.write(tmp_path / "take.wav", np.zeros(16000, np.float32), 16000)
    write_textgrid(tmp_path / "take.TextGrid", {"words": WORDS, "phones": PHONES})
    assert beat2.main([str(tmp_path / "take.npz"), str(tmp_path / "out"), "--speaker", "s", "--no-textgrid"]) == 0
    clip = fmt.load_clip(tmp_path / "out", fmt.read_manifest(tmp_path / "out")[0])
    assert clip.words == [] and clip.phones == [] and not (tmp_path / "out" / "take" / "phones.json").exists()
