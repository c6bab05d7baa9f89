"""What both Trimodal backends share (torch-free): words -> ids, style -> speaker weights and noise,
and the sliding-window loop. A backend only implements :meth:`TrimodalGeneratorBase.run_window`.

Style mapping (:class:`gesture_core.generation.Style`):

- ``speaker``: row of the speaker embedding (official checkpoints: 1..n_speakers-1, see
  ``speakers.json``). ``None`` uses the average speaker: the mean of rows 1..n_speakers-1.
- ``seed``: seeds the standard-normal noise ``eps`` (one (z_dim,) draw per window) of the
  speaker style ``z = mu + eps * exp(logvar / 2)``; the same seed gives the same motion.
- ``variability``: multiplies ``eps`` (0: always the mean style ``mu``).
- ``amplitude``: scales the motion around the mean pose.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

import numpy as np

from ...contracts import AUDIO_SAMPLE_RATE, GESTURE_FPS, Word
from ...errors import ConfigError, ModelError
from ...generation.base import SpeechInput, Style
from ...generation.windows import TimedToken, WindowInput, WindowSpec, run_windows
from .config import CheckpointMeta

log = logging.getLogger(__name__)


class TrimodalGeneratorBase(ABC):
    """A :class:`~gesture_core.generation.GestureGenerator` over a Trimodal checkpoint's metadata."""

    name = "trimodal"

    def __init__(self, meta: CheckpointMeta):
        cfg = meta.config
        if cfg.sample_rate != AUDIO_SAMPLE_RATE or cfg.fps != GESTURE_FPS:
            raise ModelError(
                f"{meta.path}: model runs at {cfg.sample_rate} Hz audio / {cfg.fps} fps, "
                f"the project at {AUDIO_SAMPLE_RATE} Hz / {GESTURE_FPS} fps"
            )
        self.meta = meta
        self.config = cfg
        self.vocab = meta.vocab
        self.spec = WindowSpec(cfg.n_poses, cfg.n_pre_poses, cfg.fps, cfg.sample_rate)
        self.mean_pose = np.asarray(cfg.mean_dir_vec, dtype=np.float64)

    @abstractmethod
    def run_window(
        self, pre_seq: np.ndarray, text_ids: np.ndarray, audio: np.ndarray, speaker_weights: np.ndarray, eps: np.ndarray
    ) -> np.ndarray:
        """One window step on a batch: the model's inputs as float32/int64 arrays with a leading
        batch dimension (see :meth:`PoseGenerator.forward`) -> (B, n_poses, 27) normalised poses."""

    def speaker_weights(self, speaker: int | None) -> np.ndarray:
        """(n_speakers,) float32 mixture over speaker rows: one-hot, or the average speaker for None."""
        n = self.config.n_speakers
        w = np.zeros(n, dtype=np.float32)
        if speaker is None:
            rows = np.arange(1, n) if n > 1 else np.arange(1)  # row 0 is unused in official checkpoints
            w[rows] = 1.0 / rows.size
        elif 0 <= speaker < n:
            w[speaker] = 1.0
        else:
            raise ConfigError(f"style.speaker: {speaker} is not a speaker of this model (0..{n - 1})")
        return w

    def tokens(self, words: list[Word]) -> list[TimedToken]:
        """Timed token ids of ``words`` (normalised, lowercase; unknown words -> UNK)."""
        return [TimedToken(self.vocab.lookup(w.word), w.start, w.end) for w in words]

    def generate(self, speech: SpeechInput, style: Style, seed_poses: np.ndarray | None = None) -> np.ndarray:
        """(speech.n_frames, 27) unit bone directions, TED axes; see the module docstring for ``style``."""
        weights = self.speaker_weights(style.speaker)[None]
        rng = np.random.default_rng(style.seed)

        def window_fn(win: WindowInput) -> np.ndarray:
            eps = (rng.standard_normal(self.config.z_dim) * style.variability).astype(np.float32)
            out = self.run_window(win.pre_seq[None], win.text_ids[None], win.audio[None], weights, eps[None])
            return out[0]

        poses = run_windows(
            window_fn,
            speech.audio,
            self.tokens(speech.words),
            speech.n_frames,
            self.mean_pose,
            self.spec,
            seed_poses=seed_poses,
            amplitude=style.amplitude,
        )
        log.debug("trimodal: %d frames from %.2f s of audio, %d words", len(poses), speech.duration, len(speech.words))
        return poses
