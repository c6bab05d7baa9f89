"""The weights shipped as package data: found by default_checkpoint, complete, and runnable through
the generator factory on onnxruntime without importing torch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gesture_core.weights import SHIPPED, default_checkpoint

PROGRAM = """
import sys
import numpy as np
from gesture_core.generation.base import SpeechInput, Style
from gesture_core.generation.factory import make_generator
from gesture_core.weights import default_checkpoint

gen = make_generator({backend!r})  # no checkpoint given: the shipped one
audio = (0.1 * np.sin(np.arange(48000) / 16000 * 2 * np.pi * 180)).astype(np.float32)
poses = gen.generate(SpeechInput(audio), Style(seed=0))
assert poses.shape == (45, 27), poses.shape
assert np.allclose(np.linalg.norm(poses.reshape(-1, 9, 3), axis=-1), 1.0, atol=1e-5)
assert "torch" not in sys.modules, "the shipped model must run without torch"
print(type(gen).__name__, default_checkpoint({backend!r}))
"""


def test_procedural_has_no_checkpoint():
    assert default_checkpoint("procedural") is None
    assert default_checkpoint("nonexistent") is None


@pytest.mark.parametrize("backend", sorted(SHIPPED))
def test_shipped_checkpoint_is_complete_and_small(backend):
    path = default_checkpoint(backend)
    if path is None:
        pytest.skip(f"no {backend} weights shipped")
    names = {p.name for p in path.iterdir()}
    assert {"config.json", "model.safetensors", "vocab.json", "model.onnx"} <= names
    size = sum(p.stat().st_size for p in path.iterdir())
    assert size < 20e6, f"{backend} weights are {size / 1e6:.1f} MB"
    provenance = json.loads((path / "config.json").read_text())["provenance"]
    assert provenance["trainer"] == "gesture_core.train" and provenance["text"].startswith("audio-only")


@pytest.mark.parametrize("backend", sorted(SHIPPED))
def test_shipped_checkpoint_runs_on_onnxruntime_without_torch(backend):
    if default_checkpoint(backend) is None:
        pytest.skip(f"no {backend} weights shipped")
    proc = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(backend=backend)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Onnx")
