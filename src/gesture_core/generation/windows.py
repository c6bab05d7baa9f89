"""Sliding-window generation shared by every learned gesture model (numpy only, no torch).

Learned models (Trimodal, diffusion) generate fixed windows of ``n_poses`` frames (34 at 15 fps)
whose first ``n_pre_poses`` (4) frames are conditioned on seed poses. An utterance of any length is
covered by windows advancing ``n_poses - n_pre_poses`` (30) frames; each window is seeded with the
last 4 frames the previous window generated, and the 4 overlapping frames are blended linearly:
``out[j] = prev[j] * (4 - j) / 5 + next[j] * (j + 1) / 5``. This module does that bookkeeping and
calls a model-specific ``window_fn`` once per window.

Frame timeline: frame ``k`` is at ``k / fps`` s after the first audio sample. When ``seed_poses``
are given (streaming: the last frames already played), they are the ``n_pre_poses`` frames just
*before* frame 0: the first window starts ``n_pre_poses`` frames early (its audio is zero-padded
there) so the model continues the motion instead of repeating it, and those seed frames are not
returned again.

Poses inside the engine are "normalised": the pose minus the model's mean pose, as the models
predict them. The result is ``mean + amplitude * normalised``, re-normalised to unit bone vectors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..errors import ConfigError, ModelError
from ..skeleton import FPS, normalize_directions

AUDIO_RATE = 16_000


@dataclass(frozen=True)
class WindowSpec:
    """Window geometry: ``n_poses`` frames, the first ``n_pre_poses`` seeded, at ``fps``; audio at ``sample_rate``."""

    n_poses: int = 34
    n_pre_poses: int = 4
    fps: float = FPS
    sample_rate: int = AUDIO_RATE

    def __post_init__(self) -> None:
        if self.n_poses < 2:
            raise ConfigError(f"windows.n_poses must be >= 2, got {self.n_poses}")
        if not 0 < self.n_pre_poses < self.n_poses:
            raise ConfigError(f"windows.n_pre_poses must be in 1..n_poses-1, got {self.n_pre_poses}")
        if not self.fps > 0 or not self.sample_rate > 0:
            raise ConfigError(f"windows.fps and windows.sample_rate must be > 0, got {self.fps}, {self.sample_rate}")

    @property
    def stride(self) -> int:
        """Frames between window starts (30)."""
        return self.n_poses - self.n_pre_poses

    @property
    def duration(self) -> float:
        """Window length in seconds (34 / 15)."""
        return self.n_poses / self.fps

    @property
    def audio_samples(self) -> int:
        """Audio samples per window, ``int(34 / 15 * 16000) = 36266``."""
        return int(self.n_poses / self.fps * self.sample_rate)

    def n_windows(self, n_frames: int) -> int:
        """Windows needed to cover ``n_frames`` frames (at least 1)."""
        return 1 + max(0, math.ceil((n_frames - self.n_poses) / self.stride))


class TimedToken(NamedTuple):
    """A word as a token id with its start and end time (s, on the audio's time axis)."""

    id: int
    start: float
    end: float


@dataclass
class WindowInput:
    """What ``window_fn`` gets for one window.

    - ``index``: window number, 0, 1, ...
    - ``start_frame``: frame of the window's first pose on the output timeline (negative for the
      first window when seed poses precede the audio).
    - ``audio``: (spec.audio_samples,) float32 waveform of the window, zero-padded outside the audio.
    - ``text_ids``: (n_poses,) int64 token id at the frame where each word starts, 0 elsewhere.
    - ``pre_seq``: (n_poses, D + 1) float32: frames 0..n_pre_poses-1 hold the normalised seed
      pose and a constraint bit 1; the other frames are 0.
    """

    index: int
    start_frame: int
    audio: np.ndarray
    text_ids: np.ndarray
    pre_seq: np.ndarray


#: A model's window step: normalised poses (n_poses, D) for one :class:`WindowInput`.
WindowFn = Callable[[WindowInput], np.ndarray]


def window_audio(audio: np.ndarray, start_sample: int, n_samples: int) -> np.ndarray:
    """``audio[start_sample : start_sample + n_samples]`` as float32, zero-padded where it runs
    outside the signal (``start_sample`` may be negative)."""
    out = np.zeros(n_samples, dtype=np.float32)
    lo, hi = max(start_sample, 0), min(start_sample + n_samples, audio.size)
    if hi > lo:
        out[lo - start_sample : hi - start_sample] = audio[lo:hi]
    return out


def window_text_ids(tokens: Sequence[TimedToken], t0: float, spec: WindowSpec) -> np.ndarray:
    """Token id per frame for the window starting at ``t0`` s: (n_poses,) int64.

    As in the Trimodal training data: every word overlapping the window (``end > t0`` and
    ``start < t0 + duration``) is put at frame ``floor((start - t0) / (duration / n_poses))``,
    clamped to 0 for a word that began before the window; later words overwrite earlier ones on
    the same frame; 0 (PAD) elsewhere.
    """
    ids = np.zeros(spec.n_poses, dtype=np.int64)
    frame_dur = spec.duration / spec.n_poses
    for tok in tokens:
        if tok.end <= t0 or tok.start >= t0 + spec.duration:
            continue
        frame = max(0, math.floor((tok.start - t0) / frame_dur + 1e-9))
        if frame < spec.n_poses:
            ids[frame] = tok.id
    return ids


def make_pre_seq(seed: np.ndarray, spec: WindowSpec) -> np.ndarray:
    """Seed input (n_poses, D + 1) from ``seed`` (n_pre_poses, D) normalised poses."""
    pre = np.zeros((spec.n_poses, seed.shape[1] + 1), dtype=np.float32)
    pre[: spec.n_pre_poses, :-1] = seed
    pre[: spec.n_pre_poses, -1] = 1.0
    return pre


def blend_overlap(prev_tail: np.ndarray, next_head: np.ndarray) -> np.ndarray:
    """Cross-fade the ``n`` overlapping frames (n, D) of two windows: weights (n - j) / (n + 1) and
    (j + 1) / (n + 1) for frame j, so the result moves from the previous window to the next."""
    n = prev_tail.shape[0]
    w_next = (np.arange(n) + 1.0) / (n + 1.0)
    return prev_tail * (1.0 - w_next)[:, None] + next_head * w_next[:, None]


def run_windows(
    window_fn: WindowFn,
    audio: np.ndarray,
    tokens: Sequence[TimedToken],
    n_frames: int,
    mean_pose: np.ndarray,
    spec: WindowSpec = WindowSpec(),
    seed_poses: np.ndarray | None = None,
    amplitude: float = 1.0,
) -> np.ndarray:
    """Generate ``n_frames`` poses for an utterance, window by window.

    - audio: (N,) waveform at ``spec.sample_rate``; tokens: timed word ids (s from the first sample).
    - mean_pose: (D,) the model's mean pose (D = 27: TED bone directions).
    - seed_poses: optional (n_pre_poses, D) poses (unit directions, as returned earlier) that
      immediately precede frame 0; None starts from the mean pose.
    - amplitude: scale of the motion around the mean pose (seeds are divided by it on the way in).

    Returns (n_frames, D) unit bone directions.
    """
    mean_pose = np.asarray(mean_pose, dtype=np.float64)
    dim = mean_pose.size
    if n_frames < 1:
        raise ConfigError(f"n_frames must be >= 1, got {n_frames}")
    seed = np.zeros((spec.n_pre_poses, dim))
    lead = 0
    if seed_poses is not None:
        seed_poses = np.asarray(seed_poses, dtype=np.float64)
        if seed_poses.shape != (spec.n_pre_poses, dim) or not np.all(np.isfinite(seed_poses)):
            raise ConfigError(f"seed_poses must be finite with shape ({spec.n_pre_poses}, {dim}), got {seed_poses.shape}")
        lead = spec.n_pre_poses
        if amplitude > 1e-3:
            seed = (seed_poses - mean_pose) / amplitude

    n_win = spec.n_windows(n_frames + lead)
    timeline = np.zeros((spec.n_poses + (n_win - 1) * spec.stride, dim))
    prev_raw = None
    for i in range(n_win):
        pos = i * spec.stride  # first frame of this window in `timeline`
        start_frame = pos - lead
        t0 = start_frame / spec.fps
        pre = make_pre_seq(seed if prev_raw is None else prev_raw[-spec.n_pre_poses :], spec)
        win = WindowInput(
            index=i,
            start_frame=start_frame,
            audio=window_audio(audio, math.floor(t0 * spec.sample_rate + 1e-6), spec.audio_samples),
            text_ids=window_text_ids(tokens, t0, spec),
            pre_seq=pre,
        )
        out = np.asarray(window_fn(win), dtype=np.float64)
        if out.shape != (spec.n_poses, dim) or not np.all(np.isfinite(out)):
            raise ModelError(f"window {i}: the model returned shape {out.shape} (need ({spec.n_poses}, {dim})) or NaN/inf")
        block = out.copy()
        if prev_raw is not None:
            block[: spec.n_pre_poses] = blend_overlap(timeline[pos : pos + spec.n_pre_poses], out[: spec.n_pre_poses])
        timeline[pos : pos + spec.n_poses] = block
        prev_raw = out
    poses = mean_pose + amplitude * timeline[lead : lead + n_frames]
    return normalize_directions(poses)
