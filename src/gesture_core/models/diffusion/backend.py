"""The ``diffusion`` backend's plug-in entry (see :mod:`gesture_core.models.registry`): its DDIM
sampler settings are the backend's parameters (``diffusion.steps`` ... on the generator node)."""

from __future__ import annotations

from dataclasses import dataclass

from ...settings import Settings, setting
from ..common import CheckpointRuntimes, learned_backend
from .sampler import ETA_RANGE, GUIDANCE_RANGE, STEPS_RANGE

RUNTIMES = CheckpointRuntimes(
    onnx_files=("encoder.onnx", "model.onnx"),
    onnx_class="gesture_core.models.diffusion.runtime:OnnxDiffusionGenerator",
    torch_class="gesture_core.models.diffusion.generator:DiffusionGenerator",
    export_module="gesture_core.models.diffusion.export",
)


@dataclass(frozen=True)
class DiffusionSettings(Settings):
    """The DDIM sampler of the diffusion backend (:class:`~.sampler.SamplerConfig`), applied live."""

    steps: int = setting(8, "DDIM denoising steps per window (4-10 is real-time)", range=STEPS_RANGE)
    guidance_scale: float = setting(
        1.0, "classifier-free guidance scale (1: conditional model only, one network call per step; "
        "otherwise two)", range=GUIDANCE_RANGE,
    )  # fmt: skip
    eta: float = setting(0.0, "DDIM stochasticity (0: deterministic given the seed, 1: ancestral)", range=ETA_RANGE)


BACKEND = learned_backend(
    "diffusion",
    "small transformer denoiser over 34-frame windows, DDIM with 1-50 steps, classifier-free guidance",
    RUNTIMES,
    settings=DiffusionSettings,
)
