"""A third-party gesture generator backend, as another package would ship one: it is found through
its entry point (``gesture_wave_backend-0.1.0.dist-info/entry_points.txt`` beside this file, on
``PYTHONPATH``) and declares its own setting, without any change to the gesture stack.

``wave``: the right forearm waves up and down at ``frequency`` Hz around the mean pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gesture_core import skeleton
from gesture_core.generation.base import SpeechInput, Style
from gesture_core.models.registry import Backend, BuildOptions
from gesture_core.settings import Settings, setting


@dataclass(frozen=True)
class WaveSettings(Settings):
    frequency: float = setting(1.0, "waves per second", range=(0.1, 5.0), unit="Hz")


class WaveGenerator:
    name = "wave"

    def __init__(self) -> None:
        self.frequency = WaveSettings().frequency

    def configure(self, frequency: float) -> None:
        self.frequency = frequency

    def generate(self, speech: SpeechInput, style: Style, seed_poses: np.ndarray | None = None) -> np.ndarray:
        n = speech.n_frames
        poses = np.tile(skeleton.MEAN_DIR_VEC, (n, 1))
        angle = style.amplitude * 0.8 * np.sin(2 * np.pi * self.frequency * np.arange(n) / skeleton.FPS)
        poses[:, 24:27] = np.stack([np.zeros(n), -np.sin(angle), np.cos(angle)], axis=1)  # right forearm
        return poses


def _build(_options: BuildOptions) -> WaveGenerator:
    return WaveGenerator()


BACKEND = Backend("wave", "a test plug-in: the right forearm waves", _build, settings=WaveSettings)
