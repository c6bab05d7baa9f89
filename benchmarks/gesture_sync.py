"""Synchrony of gestures with speech on real data: the procedural generator against real motion.

Run: ``.venv/bin/python benchmarks/gesture_sync.py [--shared ../shared] [--shifts 500]`` (prints a
Markdown table; needs ``../shared``, skips what is missing).

For every clip and motion source the score is :func:`gesture_core.gestures.timing.sync_percentile`:
the best lagged correlation (within +-0.3 s) between the motion's mean joint speed
(:func:`gesture_core.metrics.motion.joint_speed`) and the density of speech cues, and its
percentile in a permutation null (the cues circularly shifted, motion unchanged; 100 = above every
shift). Cues: ``onsets`` (the audio onsets of the feature extractor), ``stress`` (the stressed
syllables of the BEAT2 forced alignment, its ARPAbet primary-stress phones) or ``words`` (word
starts of the TED-Expressive timings). Motion sources: the real motion recorded with the speech,
the procedural generator with the clip's words, and from audio alone; a static pose has no speed
to correlate (NaN). The procedural generator places strokes on the stressed syllables it is
given, so its ``stress`` row is partly by construction: the ``onsets`` row is the independent one.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from gesture_core import skeleton
from gesture_core.contracts import Word
from gesture_core.features import extract_features
from gesture_core.generation.base import SpeechInput, Style
from gesture_core.gestures.timing import sync_percentile
from gesture_core.metrics.motion import joint_speed
from gesture_core.models.procedural import ProceduralGenerator
from gesture_core.speech.audio_io import load_audio
from gesture_core.speech.textgrid import words_from_textgrid

FPS = skeleton.FPS
#: Held-out part of the BEAT2 clip: its last 13.5 s (the shipped weights trained on the rest).
HELD_OUT_S = 13.5


@dataclass
class Clip:
    """A clip: ``audio`` (16 kHz), real motion ``speed`` (n,) at 15 fps, ``words``, named ``cues``."""

    name: str
    audio: np.ndarray
    speed: np.ndarray
    words: list[Word]
    cues: dict[str, np.ndarray]


def beat2_clips(shared: Path) -> list[Clip]:
    from gesture_core.data.beat2 import smplx_to_ted_poses

    folder = shared / "data" / "beat2_scott"
    with np.load(folder / "2_scott_0_1_1.npz") as npz:
        poses = smplx_to_ted_poses(npz["poses"], float(npz["mocap_frame_rate"]))
    audio = load_audio(folder / "2_scott_0_1_1.wav")
    words = words_from_textgrid(folder / "2_scott_0_1_1.TextGrid")
    n = min(len(poses), int(audio.size * FPS / 16000))
    clips = []
    for name, first in (("beat2 whole (63 s)", 0), ("beat2 held-out (13.5 s)", n - round(HELD_OUT_S * FPS))):
        t0 = first / FPS
        a = audio[round(t0 * 16000) : round(n / FPS * 16000)]
        w = [_shift(x, t0) for x in words if x.start >= t0]
        stress = np.array([x.stress for x in w if x.stress is not None])
        clips.append(Clip(name, a, joint_speed(poses[first:n]), w, {"stress": stress}))
    return clips


def ted_clips(shared: Path) -> list[Clip]:
    folder = shared / "data" / "ted_expressive"
    clips = []
    for wav in sorted(folder.glob("*.wav")):
        stem = wav.stem
        with np.load(folder / f"{stem}_gt.npz", allow_pickle=False) as npz:
            vec = npz["human_dir_vec"].reshape(-1, 42, 3)
        audio = load_audio(wav)
        words = []
        for line in (folder / f"{stem}_with_timing.txt").read_text(encoding="utf-8").splitlines():
            item = line.strip().strip("[]").split(",")
            if len(item) >= 3:
                start, end = max(0.0, float(item[-2])), float(item[-1])
                words.append(Word(",".join(item[:-2]).strip().strip("'\""), start, max(start, end)))
        n = min(len(vec), int(audio.size * FPS / 16000))
        clips.append(Clip(f"ted {stem}", audio[: round(n / FPS * 16000)], _ted_speed(vec[:n]), words,
                          {"words": np.array([w.start for w in words])}))  # fmt: skip
    return clips


def _ted_speed(vec: np.ndarray) -> np.ndarray:
    """Mean speed (n,) of the elbows and wrists rebuilt from TED-Expressive bone vectors (T, 42, 3)."""
    length = {1: 0.22, 2: 0.22, 3: 0.36, 4: 0.33, 20: 0.36, 21: 0.33}
    left_elbow = vec[:, 1] * length[1] + vec[:, 3] * length[3]
    right_elbow = vec[:, 2] * length[2] + vec[:, 20] * length[20]
    joints = np.stack(
        [left_elbow, left_elbow + vec[:, 4] * length[4], right_elbow, right_elbow + vec[:, 21] * length[21]],
        1,
    )
    return np.linalg.norm(np.gradient(joints, 1.0 / FPS, axis=0), axis=-1).mean(axis=1)


def _shift(w: Word, t0: float) -> Word:
    return Word(w.word, w.start - t0, w.end - t0, w.conf, None if w.stress is None else w.stress - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared")
    parser.add_argument("--shifts", type=int, default=500)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    clips = []
    if (args.shared / "data" / "beat2_scott").is_dir():
        clips += beat2_clips(args.shared)
    if (args.shared / "data" / "ted_expressive").is_dir():
        clips += ted_clips(args.shared)
    if not clips:
        print(
            f"gesture synchrony: no BEAT2 / TED-Expressive data under {args.shared}/data; nothing to measure"
        )
        return
    gen = ProceduralGenerator()
    rows = []
    for clip in tqdm(clips, desc="clips"):
        features = extract_features(clip.audio, "sync")
        cues = {"onsets": features.onsets, **clip.cues}
        sources = {"real motion": [clip.speed]}
        for label, words in (("procedural, words", clip.words), ("procedural, audio only", [])):
            sources[label] = [
                joint_speed(gen.generate(SpeechInput(clip.audio, words, features), Style(seed=s)))
                for s in args.seeds
            ]
        for label, speeds in sources.items():
            for cue_name, times in cues.items():
                results = [sync_percentile(sp[: len(clip.speed)], FPS, times, args.shifts) for sp in speeds]
                score, pct = np.nanmean([r[0] for r in results]), np.nanmean([r[1] for r in results])
                rows.append((clip.name, label, cue_name, score, pct))
    print(f"Synchrony of motion speed with speech cues (permutation null: {args.shifts} circular shifts; "
          f"procedural: mean over seeds {args.seeds})\n")  # fmt: skip
    print("| clip | motion | cues | score (r) | percentile |")
    print("| --- | --- | --- | ---: | ---: |")
    for clip_name, label, cue_name, score, pct in rows:
        if not clip_name.startswith("ted "):
            print(f"| {clip_name} | {label} | {cue_name} | {score:.3f} | {pct:.1f} |")
    ted = [r for r in rows if r[0].startswith("ted ")]
    for label in dict.fromkeys(r[1] for r in ted):
        for cue_name in dict.fromkeys(r[2] for r in ted):
            sel = [r for r in ted if r[1] == label and r[2] == cue_name]
            pcts = np.array([r[4] for r in sel])
            score = np.mean([r[3] for r in sel])
            print(f"| TED-Expressive, {len(sel)} clips (mean; clips >= 95th) | {label} | {cue_name} | "
                  f"{score:.3f} | {np.nanmean(pcts):.1f}; {int(np.sum(pcts >= 95))} |")  # fmt: skip


if __name__ == "__main__":
    main()
