"""What both diffusion backends share (torch-free): style mapping, the guided DDIM loop per window
and the sliding-window loop (:func:`gesture_core.generation.windows.run_windows`).

A backend implements two numpy functions, so each window costs one condition encoding (audio
encoder, word and speaker embeddings) plus ``steps`` denoiser calls:

- :meth:`DiffusionGeneratorBase.encode`: audio, words, speaker -> per-frame condition features,
  and the learned "no condition" features used by classifier-free guidance;
- :meth:`DiffusionGeneratorBase.denoise`: one network evaluation at one noise level.

Style mapping (:class:`gesture_core.generation.Style`):

- ``speaker``: row of the speaker embedding (rows 1..n_speakers-1); ``None`` uses the average of
  those rows.
- ``seed``: seeds the starting noise (and the ``eta`` / in-painting noise) of every window.
- ``variability``: temperature, the scale of all that noise (0: start from zeros, deterministic).
- ``amplitude``: scales the motion around the mean pose (done by the window engine).
"""

from __future__ import annotations

import dataclasses

from abc import abstractmethod
from collections.abc import Callable

import numpy as np

from ...generation.base import Style
from ...generation.windows import WindowInput
from ..common import WindowedGeneratorBase
from .config import CheckpointMeta, DiffusionConfig
from .sampler import Predict, SamplerConfig, ddim_sample, guide
from .schedule import cosine_alpha_bar


class DiffusionGeneratorBase(WindowedGeneratorBase[DiffusionConfig]):
    """A :class:`~gesture_core.generation.GestureGenerator` over a diffusion checkpoint's metadata.

    ``sampler`` may be replaced between calls (e.g. a live-changed step count).
    """

    name = "diffusion"

    def __init__(self, meta: CheckpointMeta, sampler: SamplerConfig | None = None):
        super().__init__(meta.path, meta.config, meta.vocab)
        self.meta = meta
        self.sampler = sampler if sampler is not None else SamplerConfig()
        self.alpha_bar = cosine_alpha_bar(meta.config.n_train_steps)

    # ---------------------------------------------------------------- what a backend implements

    @abstractmethod
    def encode(
        self, audio: np.ndarray, text_ids: np.ndarray, speaker_weights: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Condition features of a batch of windows.

        audio (B, audio_samples) float32 16 kHz waveform; text_ids (B, n_poses) int64;
        speaker_weights (B, n_speakers) float32 -> ``(cond, uncond)``, each (B, n_poses, cond_dim)
        float32 (``uncond``: the learned features of "no audio, words, speaker").
        """

    @abstractmethod
    def denoise(self, x_t: np.ndarray, t: np.ndarray, cond: np.ndarray, pre_seq: np.ndarray) -> np.ndarray:
        """One network evaluation: x_t (B, n_poses, 27) float32 noisy scaled poses, t (B,) float32
        timesteps, cond (B, n_poses, cond_dim), pre_seq (B, n_poses, 28) seed input as built by the
        window engine -> (B, n_poses, 27) float32 prediction (``config.prediction``)."""

    # ---------------------------------------------------------------------------- sampling

    def predictor(
        self, cond: np.ndarray, uncond: np.ndarray, pre_seq: np.ndarray, guidance: float
    ) -> Predict:
        """The guided network ``predict(x_t, t)`` of :func:`.sampler.ddim_sample`: one :meth:`denoise`
        call per step, on a doubled batch (conditional + unconditional) unless ``guidance == 1``."""
        batch = cond.shape[0]
        if guidance == 1.0:
            return lambda x, t: self.denoise(x, np.full(batch, t, np.float32), cond, pre_seq)
        cond2 = np.concatenate([cond, uncond])
        pre2 = np.concatenate([pre_seq, pre_seq])

        def predict(x: np.ndarray, t: int) -> np.ndarray:
            out = self.denoise(np.concatenate([x, x]), np.full(2 * batch, t, np.float32), cond2, pre2)
            return guide(out[:batch], out[batch:], guidance)

        return predict

    def sample(
        self,
        audio: np.ndarray,
        text_ids: np.ndarray,
        pre_seq: np.ndarray,
        speaker_weights: np.ndarray,
        rng: np.random.Generator,
        temperature: float = 1.0,
    ) -> np.ndarray:
        """Sample a batch of windows: inputs as in :meth:`encode` / :meth:`denoise` ->
        (B, n_poses, 27) float32 poses minus the mean pose (the window engine's "normalised" poses)."""
        cfg = self.config
        cond, uncond = self.encode(audio, text_ids, speaker_weights)
        pre_seq = pre_seq.astype(np.float32)
        predict = self.predictor(cond, uncond, pre_seq, self.sampler.guidance)
        seed_x0 = pre_seq[:, : cfg.n_pre_poses, :-1] / cfg.pose_scale
        shape = (audio.shape[0], cfg.n_poses, cfg.pose_dim)
        x0 = ddim_sample(
            predict, self.alpha_bar, cfg.prediction, shape, self.sampler, rng, temperature, seed_x0
        )
        return x0 * np.float32(cfg.pose_scale)

    def window_function(self, style: Style) -> Callable[[WindowInput], np.ndarray]:
        """One :meth:`sample` per window with the current :attr:`sampler` settings; the noise drawn
        from ``style.seed``."""
        weights = self.speaker_weights(style.speaker)[None]
        rng = np.random.default_rng(style.seed)

        def window_fn(win: WindowInput) -> np.ndarray:
            return self.sample(
                win.audio[None], win.text_ids[None], win.pre_seq[None], weights, rng, style.variability
            )[0]

        return window_fn

    def configure(self, steps: int = 8, guidance_scale: float = 1.0, eta: float = 0.0) -> None:
        """Apply the backend's settings (:class:`~.backend.DiffusionSettings`) from the next window on."""
        self.sampler = dataclasses.replace(self.sampler, steps=steps, guidance=guidance_scale, eta=eta)

    def describe(self) -> str:
        """The sampler settings, for the debug log."""
        s = self.sampler
        return f"{s.steps} steps, guidance {s.guidance:g}, eta {s.eta:g}"
