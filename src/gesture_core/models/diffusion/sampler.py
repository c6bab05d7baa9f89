"""DDIM sampling of one window (numpy, torch-free), with classifier-free guidance and seed in-painting.

The sampler only needs a ``predict(x_t, t) -> network output`` function, so the same loop serves
the PyTorch and the onnxruntime backends (:mod:`.inference` builds ``predict`` from a backend).

One DDIM step (Song et al. 2021, eq. 12) from timestep ``t`` to the next visited timestep ``s``
(``ab_s = 1`` after the last one)::

    x0, eps = split_prediction(predict(x_t, t), x_t, ab_t)
    sigma   = eta * sqrt((1 - ab_s) / (1 - ab_t) * (1 - ab_t / ab_s))
    x_s     = sqrt(ab_s) * x0 + sqrt(1 - ab_s - sigma^2) * eps + sigma * temperature * z

``eta = 0`` is deterministic DDIM, ``eta = 1`` DDPM-like ancestral sampling. The starting noise
is ``temperature * N(0, I)``. With seed in-painting (Lugmayr et al. 2022, "RePaint", without
resampling), the first ``k`` frames of ``x_t`` are replaced by the seed poses noised to level
``t`` before every step, and by the clean seed poses at the end.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...errors import ConfigError
from .schedule import add_noise, sampling_timesteps, split_prediction

#: The network at one noise level: (x_t (B, T, D) float32, timestep t) -> output (B, T, D).
Predict = Callable[[np.ndarray, int], np.ndarray]


#: Valid ranges of the sampling settings (also the diffusion backend's parameters, :mod:`.backend`).
STEPS_RANGE = (1, 50)
ETA_RANGE = (0.0, 1.0)
GUIDANCE_RANGE = (0.0, 10.0)


@dataclass(frozen=True)
class SamplerConfig:
    """Sampling settings, validated on construction.

    - ``steps``: denoising steps per window, 1..50 (at most the model's ``n_train_steps``);
      4-10 is the real-time range.
    - ``eta``: DDIM stochasticity in [0, 1] (0: deterministic given the starting noise).
    - ``guidance``: classifier-free guidance scale in [0, 10]: 1 = the conditional model only
      (one network call per step); otherwise ``uncond + guidance * (cond - uncond)``, computed as
      one call on a doubled batch.
    - ``inpaint_seed``: overwrite the seed frames with the noised seed poses at every step.
    """

    steps: int = 8
    eta: float = 0.0
    guidance: float = 1.0
    inpaint_seed: bool = True

    def __post_init__(self) -> None:
        lo, hi = STEPS_RANGE
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or not lo <= self.steps <= hi:
            raise ConfigError(f"sampler.steps must be an integer in {lo}..{hi}, got {self.steps!r}")
        for name, (lo, hi) in (("eta", ETA_RANGE), ("guidance", GUIDANCE_RANGE)):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not lo <= value <= hi:
                raise ConfigError(f"sampler.{name} must be a number in [{lo:g}, {hi}], got {value!r}")
        if not isinstance(self.inpaint_seed, bool):
            raise ConfigError(f"sampler.inpaint_seed must be true or false, got {self.inpaint_seed!r}")


def guide(cond: np.ndarray, uncond: np.ndarray, scale: float) -> np.ndarray:
    """Classifier-free guidance (Ho & Salimans 2022): ``uncond + scale * (cond - uncond)``, written
    as ``cond + (scale - 1) * (cond - uncond)`` so that scale 1 gives ``cond`` exactly."""
    return cond + (scale - 1.0) * (cond - uncond)


def ddim_sample(
    predict: Predict,
    alpha_bar: np.ndarray,
    prediction: str,
    shape: tuple[int, int, int],
    cfg: SamplerConfig,
    rng: np.random.Generator,
    temperature: float = 1.0,
    seed_x0: np.ndarray | None = None,
) -> np.ndarray:
    """Sample clean windows ``x0``: (B, T, D) float32, in the model's (scaled) pose space.

    - predict: the network, see :data:`Predict` (called exactly ``cfg.steps`` times).
    - alpha_bar: (n_train_steps,) the training schedule (:func:`.schedule.cosine_alpha_bar`).
    - prediction: ``"v"``, ``"x0"`` or ``"eps"``, what ``predict`` returns.
    - shape: (B, T, D) of the windows.
    - rng: source of the starting noise and of the ``eta`` / in-painting noise (seeded: deterministic).
    - temperature: scale of every noise draw (style variability; 0 starts from zeros).
    - seed_x0: optional (B, k, D) clean seed frames, in-painted when ``cfg.inpaint_seed``.
    """
    steps = sampling_timesteps(len(alpha_bar), cfg.steps)

    def noise() -> np.ndarray:
        return (temperature * rng.standard_normal(shape)).astype(np.float32)

    inpaint = cfg.inpaint_seed and seed_x0 is not None
    k = 0 if seed_x0 is None else seed_x0.shape[1]
    x = noise()
    for i, t in enumerate(steps):
        ab = float(alpha_bar[t])
        ab_next = float(alpha_bar[steps[i + 1]]) if i + 1 < len(steps) else 1.0
        if inpaint:
            x[:, :k] = add_noise(seed_x0, noise()[:, :k], ab)
        x0, eps = split_prediction(predict(x, int(t)), x, ab, prediction)
        sigma = cfg.eta * math.sqrt((1.0 - ab_next) / (1.0 - ab) * (1.0 - ab / ab_next))
        x = math.sqrt(ab_next) * x0 + math.sqrt(max(1.0 - ab_next - sigma**2, 0.0)) * eps
        if sigma > 0.0:
            x = x + sigma * noise()
        x = x.astype(np.float32)
    if inpaint:
        x[:, :k] = seed_x0
    return x
