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

from abc import abstractmethod
from collections.abc import Callable

import numpy as np

from ...generation.base import Style
from ...generation.windows import WindowInput
from ..common import WindowedGeneratorBase
from .config import CheckpointMeta, TrimodalConfig


class TrimodalGeneratorBase(WindowedGeneratorBase[TrimodalConfig]):
    """A :class:`~gesture_core.generation.GestureGenerator` over a Trimodal checkpoint's metadata."""

    name = "trimodal"

    def __init__(self, meta: CheckpointMeta):
        super().__init__(meta.path, meta.config, meta.vocab)
        self.meta = meta

    @abstractmethod
    def run_window(
        self, pre_seq: np.ndarray, text_ids: np.ndarray, audio: np.ndarray, speaker_weights: np.ndarray, eps: np.ndarray
    ) -> np.ndarray:
        """One window step on a batch: the model's inputs as float32/int64 arrays with a leading
        batch dimension (see :meth:`PoseGenerator.forward`) -> (B, n_poses, 27) normalised poses."""

    def window_function(self, style: Style) -> Callable[[WindowInput], np.ndarray]:
        """One :meth:`run_window` per window; the noise ``eps`` drawn from ``style.seed``."""
        weights = self.speaker_weights(style.speaker)[None]
        rng = np.random.default_rng(style.seed)

        def window_fn(win: WindowInput) -> np.ndarray:
            eps = (rng.standard_normal(self.config.z_dim) * style.variability).astype(np.float32)
            out = self.run_window(win.pre_seq[None], win.text_ids[None], win.audio[None], weights, eps[None])
            return out[0]

        return window_fn
