"""The interface every gesture generator implements (procedural, Trimodal, diffusion).

A generator turns one utterance (or one streaming window of it) into human gesture poses in the
TED format (see :mod:`gesture_core.skeleton`): ``(n_frames, 27)`` unit bone directions at 15 fps,
frame ``k`` at ``k / 15`` s after the start of ``SpeechInput.audio``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..contracts import AUDIO_SAMPLE_RATE, GESTURE_FPS, AudioFeatures, Word
from ..errors import ConfigError, ContractError


@dataclass
class SpeechInput:
    """What a generator gets for one utterance or window.

    - ``audio``: (N,) float32 mono waveform in [-1, 1] at 16 kHz (``AUDIO_SAMPLE_RATE``).
    - ``words``: timed words, times in seconds relative to the first audio sample; may be empty
      (no ASR model, or silence): every generator still runs on audio alone.
    - ``features``: frame-wise features of the same audio (``t0`` relative to its first sample),
      or None to let the generator compute what it needs.
    """

    audio: np.ndarray
    words: list[Word] = field(default_factory=list)
    features: AudioFeatures | None = None

    def __post_init__(self) -> None:
        self.audio = np.asarray(self.audio, dtype=np.float32).ravel()
        if not np.all(np.isfinite(self.audio)):
            raise ContractError("speech audio contains NaN or inf")

    @property
    def duration(self) -> float:
        """Length of the audio in seconds."""
        return self.audio.size / AUDIO_SAMPLE_RATE

    @property
    def n_frames(self) -> int:
        """Number of 15 fps gesture frames that cover the audio (at least 1)."""
        return max(1, int(np.ceil(self.duration * GESTURE_FPS)))


#: Range of :attr:`Style.amplitude` and :attr:`Style.variability` (also the generator node's parameters).
AMPLITUDE_RANGE = (0.0, 3.0)
VARIABILITY_RANGE = (0.0, 3.0)


@dataclass
class Style:
    """Style controls shared by every generator.

    - ``speaker``: speaker/style id of a learned model (None: the model's default/mean style).
    - ``seed``: random seed; the same seed and input give the same motion.
    - ``amplitude``: scale of the motion around the mean pose (1 = as generated, 0 = mean pose).
    - ``variability``: temperature-like scale of the model's randomness (1 = as trained).
    """

    speaker: int | None = None
    seed: int = 0
    amplitude: float = 1.0
    variability: float = 1.0

    def __post_init__(self) -> None:
        for name, (lo, hi) in (("amplitude", AMPLITUDE_RANGE), ("variability", VARIABILITY_RANGE)):
            if not lo <= getattr(self, name) <= hi:
                raise ConfigError(f"style.{name} must be in [{lo:g}, {hi:g}], got {getattr(self, name)}")
        if self.speaker is not None and self.speaker < 0:
            raise ConfigError(f"style.speaker must be >= 0 or None, got {self.speaker}")


class GestureGenerator(Protocol):
    """A gesture generator. Implementations: procedural, Trimodal (torch / onnxruntime), diffusion."""

    #: Short name used by the generator node's ``backend`` parameter.
    name: str

    def generate(self, speech: SpeechInput, style: Style, seed_poses: np.ndarray | None = None) -> np.ndarray:
        """Poses for ``speech``: (speech.n_frames, 27) unit bone directions, TED axes.

        ``seed_poses``: optional (4, 27) last frames of the previous window (streaming), so that
        consecutive windows join smoothly.
        """
        ...
