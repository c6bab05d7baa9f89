"""Tiny self-made datasets in the project training format, for the training and evaluation tests.

The motion follows the audio: speech-like noise bursts (syllables at about 4 per second, in
phrases separated by pauses) and arms that swing with the bursts' loudness, so a model has
something to learn and the metrics have beats to align.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gesture_core import skeleton
from gesture_core.contracts import Word
from gesture_core.data.format import SAMPLE_RATE, DatasetWriter, expected_audio_samples

FPS = skeleton.FPS
WORDS = ["hello", "robot", "gesture", "world"]


def synthetic_clip(seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray, list[Word]]:
    """``(poses (N, 27) unit bone directions, audio (S,) float32 16 kHz, timed words)``."""
    rng = np.random.default_rng(seed)
    n_frames = round(seconds * FPS)
    n_samples = expected_audio_samples(n_frames)
    t = np.arange(n_samples) / SAMPLE_RATE
    syllables = 0.5 + 0.5 * np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 2 * np.pi))
    phrases = (np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 2 * np.pi)) > -0.3).astype(float)
    envelope = syllables**4 * phrases
    audio = np.clip(0.2 * envelope * rng.standard_normal(n_samples), -1, 1).astype(np.float32)

    frame_env = envelope[(np.arange(n_frames) * SAMPLE_RATE / FPS).astype(int)]
    swing = np.convolve(frame_env, np.ones(3) / 3, mode="same")  # (N,)
    mean = skeleton.as_directions(skeleton.MEAN_DIR_VEC)
    offsets = np.zeros((n_frames, skeleton.N_BONES, 3))
    for bone, sign in ((5, 1.0), (8, -1.0), (4, 0.5), (7, -0.5)):  # forearms and upper arms
        offsets[:, bone, 1] = -0.6 * swing * abs(sign)  # hands rise with loudness
        offsets[:, bone, 0] = 0.3 * sign * swing
    poses = skeleton.normalize_directions((mean[None] + offsets).reshape(n_frames, skeleton.POSE_DIM))

    starts = np.arange(0.2, seconds - 0.5, 0.6)
    words = [
        Word(word=WORDS[i % len(WORDS)], start=float(s), end=float(s) + 0.4) for i, s in enumerate(starts)
    ]
    return poses.astype(np.float32), audio, words


def write_dataset(
    root: Path, clips: int = 1, seconds: float = 6.0, words: bool = True, speakers: int = 1
) -> Path:
    """A dataset directory of ``clips`` synthetic clips of ``seconds`` each (speakers ``spk0``...)."""
    with DatasetWriter(root) as writer:
        for i in range(clips):
            poses, audio, timed = synthetic_clip(seconds, seed=i)
            writer.add(f"clip{i}", f"spk{i % speakers}", poses, audio, timed if words else [], "synthetic")
    return root


def write_textgrid(path, tiers: dict[str, list[tuple[float, float, str]]], utf16: bool = False) -> None:
    """A long-format Praat TextGrid with the given interval tiers ``name -> [(start, end, text)]`` (s)."""
    end = max((b for intervals in tiers.values() for _, b, _ in intervals), default=0.0)
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0", f"xmax = {end}",
             "tiers? <exists>", f"size = {len(tiers)}", "item []:"]  # fmt: skip
    for k, (name, intervals) in enumerate(tiers.items(), 1):
        lines += [f"    item [{k}]:", 'class = "IntervalTier"', f'name = "{name}"', "xmin = 0",
                  f"xmax = {end}", f"intervals: size = {len(intervals)}"]  # fmt: skip
        for i, (a, b, text) in enumerate(intervals, 1):
            text = text.replace('"', '""')
            lines += [f"        intervals [{i}]:", f"            xmin = {a}", f"            xmax = {b}",
                      f'            text = "{text}"']  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-16" if utf16 else "utf-8")
