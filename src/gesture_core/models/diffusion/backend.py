"""The ``diffusion`` backend's plug-in entry (see :mod:`gesture_core.models.registry`): its DDIM
sampler settings are the backend's parameters (``diffusion.steps`` ... on the generator node)."""

from __future__ import annotations

from dataclasses import dataclass

from ...generation.base import GestureGenerator
from ...settings import Settings, setting
from ..common import CheckpointRuntimes, load_checkpoint_generator
from ..registry import Backend, BuildOptions

RUNTIMES = CheckpointRuntimes(
    onnx_files=("encoder.onnx", "model.onnx"),
    onnx_class="gesture_core.models.diffusion.runtime:OnnxDiffusionGenerator",
    torch_class="gesture_core.models.diffusion.generator:DiffusionGenerator",
    export_module="gesture_core.models.diffusion.export",
)


@dataclass(frozen=True)
class DiffusionSettings(Settings):
    """The DDIM sampler of the diffusion backend (:class:`~.sampler.SamplerConfig`), applied live."""

    steps: int = setting(8, "DDIM denoising steps per window (4-10 is real-time)", range=(1, 50))
    guidance_scale: float = setting(
        1.0, "classifier-free guidance scale (1: conditional model only, one network call per step; "
        "otherwise two)", range=(0.0, 10.0),
    )  # fmt: skip
    eta: float = setting(0.0, "DDIM stochasticity (0: deterministic given the seed, 1: ancestral)", range=(0.0, 1.0))


def _build(options: BuildOptions) -> GestureGenerator:
    return load_checkpoint_generator("diffusion", RUNTIMES, options.checkpoint, options.providers)


BACKEND = Backend(
    "diffusion",
    "small transformer denoiser over 34-frame windows, DDIM with 1-50 steps, classifier-free guidance",
    _build,
    settings=DiffusionSettings,
    needs_checkpoint=True,
)
