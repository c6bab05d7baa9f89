"""Accumulate generated (and real) motion over an evaluation set, then compute every human-side metric.

Usage::

    ev = Evaluator(fgd=load_fgd_extractor(path))   # fgd=None: no FGD (no torch needed)
    for clip in clips:
        ev.push(generated_poses, real=real_poses, audio=clip_audio)
    scores = ev.compute()
    ev.reset()

Metrics (see :mod:`.motion` and :mod:`.fgd` for definitions and units):

- ``fgd``: FGD between the 60-frame windows (stride 30) of all real and all generated sequences;
- ``diversity``: mean pairwise joint-position distance between the generated 60-frame windows;
- ``beat_align`` / ``beat_align_real``: BeatAlign pooled over every audio onset of every sequence
  pushed with audio (each onset counts once, so long clips weigh more);
- ``mean_acceleration`` / ``mean_jerk`` (and ``_real``): over all frames of all sequences.

A metric without enough data (no real motion, fewer than 2 windows, no audio) is NaN.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from .. import skeleton
from . import motion

if TYPE_CHECKING:
    from .fgd import FGDExtractor

log = logging.getLogger(__name__)

#: FGD / diversity windows: the autoencoder's 60 frames, half-overlapping.
WINDOW, STRIDE = 60, 30


class _MotionStats:
    """Running sums for one motion set (generated or real)."""

    def __init__(self) -> None:
        self.windows: list[np.ndarray] = []  # (60, 27) each
        self.beat_sum = 0.0  # sum over audio onsets of exp(-d^2 / 2 sigma^2)
        self.n_onsets = 0
        self.acc_sum = self.jerk_sum = 0.0
        self.n_acc = self.n_jerk = 0

    def add(self, poses: np.ndarray, onsets: np.ndarray | None, fps: float, sigma: float, order: int) -> None:
        self.windows.extend(motion.pose_windows(poses, WINDOW, STRIDE))
        if onsets is not None and onsets.size:
            self.beat_sum += (
                motion.beat_align(onsets, motion.motion_beats(poses, fps, order), sigma) * onsets.size
            )
            self.n_onsets += onsets.size
        if len(poses) > 3:  # weights: the number of second / third differences
            acc, jerk = motion.pose_smoothness(poses, fps)
            self.acc_sum += acc * (len(poses) - 2)
            self.n_acc += len(poses) - 2
            self.jerk_sum += jerk * (len(poses) - 3)
            self.n_jerk += len(poses) - 3

    def scores(self, suffix: str) -> dict[str, float]:
        nan = float("nan")
        return {
            f"beat_align{suffix}": self.beat_sum / self.n_onsets if self.n_onsets else nan,
            f"mean_acceleration{suffix}": self.acc_sum / self.n_acc if self.n_acc else nan,
            f"mean_jerk{suffix}": self.jerk_sum / self.n_jerk if self.n_jerk else nan,
        }


class Evaluator:
    """Reset / push / compute evaluator of generated gestures (human side, TED poses at ``fps``).

    ``fgd``: the loaded FGD feature extractor, or None to skip FGD. ``sigma`` (s) and ``order``
    (frames): BeatAlign parameters (:data:`motion.BEAT_SIGMA`, :data:`motion.BEAT_ORDER`).
    """

    def __init__(
        self,
        fgd: FGDExtractor | None = None,
        fps: float = motion.FPS,
        sigma: float = motion.BEAT_SIGMA,
        order: int = motion.BEAT_ORDER,
    ):
        self.fgd = fgd
        self.fps, self.sigma, self.order = fps, sigma, order
        self.reset()

    def reset(self) -> None:
        """Forget everything pushed so far."""
        self._generated = _MotionStats()
        self._real = _MotionStats()
        self._n_sequences = 0

    def push(
        self, generated: np.ndarray, real: np.ndarray | None = None, audio: np.ndarray | None = None
    ) -> None:
        """Add one sequence: ``generated`` (T, 27) poses, optional ``real`` (T', 27) reference poses
        of the same speech, optional ``audio`` (S,) 16 kHz speech starting at frame 0 (for BeatAlign).
        """
        generated = skeleton.as_directions(generated).reshape(-1, skeleton.POSE_DIM)
        onsets = motion.audio_onsets(audio) if audio is not None else None
        self._generated.add(generated, onsets, self.fps, self.sigma, self.order)
        if real is not None:
            self._real.add(
                skeleton.as_directions(real).reshape(-1, skeleton.POSE_DIM),
                onsets,
                self.fps,
                self.sigma,
                self.order,
            )
        self._n_sequences += 1

    def compute(self) -> dict[str, float]:
        """Every metric over what was pushed since the last :meth:`reset` (NaN where undefined)."""
        gen, real = np.array(self._generated.windows), np.array(self._real.windows)
        scores: dict[str, float] = {
            "n_sequences": float(self._n_sequences),
            "n_windows": float(len(gen)),
            "fgd": float("nan"),
            "diversity": motion.diversity(gen) if len(gen) >= 2 else float("nan"),
        }
        if self.fgd is not None and len(gen) >= 2 and len(real) >= 2:
            from .fgd import fgd as fgd_score

            scores["fgd"] = fgd_score(self.fgd.features(real), self.fgd.features(gen))
        elif self.fgd is not None:
            log.warning(
                "FGD needs >= 2 real and generated %d-frame windows, got %d and %d",
                WINDOW,
                len(real),
                len(gen),
            )
        scores.update(self._generated.scores(""))
        scores.update(self._real.scores("_real"))
        return scores
