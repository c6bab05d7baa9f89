"""The noise schedule and the conversions between what the network predicts and the clean data.

Notation (Ho et al. 2020; Song et al. 2021, "DDIM"): ``x0`` is a clean window, ``eps`` standard
normal noise, ``ab = alpha_bar(t)`` the fraction of signal power left at timestep ``t``, and the
noisy window is ``x_t = sqrt(ab) * x0 + sqrt(1 - ab) * eps``. The network predicts one of

- ``"eps"``: the noise;
- ``"x0"``: the clean window;
- ``"v"``: the velocity ``sqrt(ab) * eps - sqrt(1 - ab) * x0`` (Salimans & Ho 2022), so that
  ``x0 = sqrt(ab) * x_t - sqrt(1 - ab) * v`` and ``eps = sqrt(1 - ab) * x_t + sqrt(ab) * v``.

``ab`` follows the cosine schedule (Nichol & Dhariwal 2021) and reaches (almost) zero at the last
timestep, so sampling starts from pure noise (Lin et al. 2024, "Common Diffusion Noise Schedules
and Sample Steps are Flawed"); sampling timesteps are spaced "trailing" for the same reason.

Everything here is plain arithmetic, so the functions take numpy arrays (the sampler) and torch
tensors (training) alike; ``ab`` must broadcast against the windows, e.g. shape (B, 1, 1).
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

from ...errors import ConfigError

Array = TypeVar("Array")  # np.ndarray or torch.Tensor

#: Smallest ``alpha_bar``: keeps ``eps`` -> ``x0`` finite at the last timestep (1e-3 signal amplitude).
MIN_ALPHA_BAR = 1e-6


def cosine_alpha_bar(n_train_steps: int, s: float = 0.008) -> np.ndarray:
    """``alpha_bar`` of timesteps ``t = 0 .. n_train_steps - 1``: (n_train_steps,) float64, decreasing.

    ``ab(t) = f((t + 1) / T) / f(0)`` with ``f(u) = cos^2((u + s) / (1 + s) * pi / 2)``, clipped to
    ``[MIN_ALPHA_BAR, 1]``: timestep 0 is slightly noisy, timestep T-1 is pure noise.
    """
    if n_train_steps < 1:
        raise ConfigError(f"diffusion.n_train_steps must be >= 1, got {n_train_steps}")
    u = np.arange(1, n_train_steps + 1, dtype=np.float64) / n_train_steps
    f = np.cos((u + s) / (1 + s) * np.pi / 2) ** 2
    f0 = np.cos(s / (1 + s) * np.pi / 2) ** 2
    return np.clip(f / f0, MIN_ALPHA_BAR, 1.0)


def sampling_timesteps(n_train_steps: int, n_steps: int) -> np.ndarray:
    """The ``n_steps`` timesteps a sampler visits, descending: (n_steps,) int64.

    "Trailing" spacing: ``round(T - i * T / n) - 1`` for ``i = 0 .. n-1``, so the first step is
    always the pure-noise timestep ``T - 1`` (with 1 step the sampler predicts ``x0`` from noise).
    """
    if not 1 <= n_steps <= n_train_steps:
        raise ConfigError(f"sampler.steps must be in 1..{n_train_steps} (n_train_steps), got {n_steps}")
    t = np.round(n_train_steps - np.arange(n_steps) * n_train_steps / n_steps).astype(np.int64) - 1
    return t


def add_noise(x0: Array, eps: Array, ab: Array) -> Array:
    """The noisy window ``x_t = sqrt(ab) * x0 + sqrt(1 - ab) * eps``."""
    return ab**0.5 * x0 + (1 - ab) ** 0.5 * eps


def training_target(x0: Array, eps: Array, ab: Array, prediction: str) -> Array:
    """What the network should output for ``x_t = add_noise(x0, eps, ab)`` (see module docstring)."""
    if prediction == "eps":
        return eps
    if prediction == "x0":
        return x0
    if prediction == "v":
        return ab**0.5 * eps - (1 - ab) ** 0.5 * x0
    raise ConfigError(f"diffusion.prediction must be 'v', 'x0' or 'eps', got {prediction!r}")


def split_prediction(pred: Array, x_t: Array, ab: Array, prediction: str) -> tuple[Array, Array]:
    """``(x0, eps)`` estimated from the network output ``pred`` at noisy window ``x_t``."""
    if prediction == "eps":
        return (x_t - (1 - ab) ** 0.5 * pred) / ab**0.5, pred
    if prediction == "x0":
        return pred, (x_t - ab**0.5 * pred) / (1 - ab) ** 0.5
    if prediction == "v":
        return ab**0.5 * x_t - (1 - ab) ** 0.5 * pred, (1 - ab) ** 0.5 * x_t + ab**0.5 * pred
    raise ConfigError(f"diffusion.prediction must be 'v', 'x0' or 'eps', got {prediction!r}")
