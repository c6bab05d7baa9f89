"""gesture-eval-speech: generators scored on speech without motion, against its baselines."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from synthetic_clips import synthetic_clip, write_dataset, write_textgrid

from gesture_core.data.format import SAMPLE_RATE
from gesture_core.errors import DataError
from gesture_core.speech_eval import OTHER, STATIC, load_recording, main


def syllable(w):
    """An unstressed onset and a stressed vowel (ARPAbet) for word ``w``."""
    return (w.start, w.start + 0.1, "HH"), (w.start + 0.1, w.end, "OW1")


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """Two 8 s recordings (WAV + TextGrid words and phones) and a reference dataset of real motion."""
    root = tmp_path_factory.mktemp("speech")
    specs = []
    for seed in (1, 2):
        _, audio, words = synthetic_clip(8.0, seed=seed)
        wav = root / f"rec{seed}.wav"
        sf.write(wav, audio, SAMPLE_RATE)
        tiers = {
            "words": [(w.start, w.end, w.word) for w in words],
            "phones": [p for w in words for p in syllable(w)],
        }
        write_textgrid(root / f"rec{seed}.TextGrid", tiers)
        specs.append(str(wav))
    return specs, write_dataset(root / "ref", clips=1, seconds=6.0)


def test_rows_baselines_and_report(recordings, tmp_path):
    specs, ref = recordings
    out = tmp_path / "out"
    argv = [a for s in specs for a in ("--speech", s)]
    assert main([*argv, "--reference", str(ref), "--backend", "procedural", "--seeds", "0", "1",
                 "--shifts", "50", "--out", str(out)]) == 0  # fmt: skip
    doc = json.loads((out / "speech_sync.json").read_text())
    rows = {r["label"]: r for r in doc["rows"]}
    assert list(rows) == [STATIC, OTHER, "procedural", "procedural on time-shifted speech"]
    assert len(rows["procedural"]["pooled"]) == 2 and len(rows[STATIC]["pooled"]) == 1
    # a held pose has no strokes: chance by construction; the reference motion is at distance 0 from itself
    static = rows[STATIC]["pooled"][0]["sync"]["sync"]
    assert static["percentile"] == 50 and static["n_events"] == 0
    assert rows[OTHER]["pooled"][0]["distances"]["hand_speed"] == pytest.approx(0.0, abs=1e-9)
    generated = rows["procedural"]["pooled"][0]
    assert generated["sync"]["sync_stressed"]["n_cues"] > 0 and generated["strokes_per_s"] > 0
    assert 0 <= generated["sync"]["sync"]["percentile"] <= 100
    text = (out / "speech_sync.md").read_text()
    assert "| procedural on time-shifted speech |" in text and "rec1" in text and "rec2" in text


def test_bad_recordings_are_named(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_recording(str(tmp_path / "missing.wav"))
    sf.write(tmp_path / "short.wav", np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE)
    with pytest.raises(DataError, match="need >= 2 s"):
        load_recording(str(tmp_path / "short.wav"))
    with pytest.raises(DataError, match="not found"):
        load_recording(f"{tmp_path / 'short.wav'}:{tmp_path / 'none.TextGrid'}")
