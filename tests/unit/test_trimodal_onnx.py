"""ONNX export of the Trimodal window step and the torch-free onnxruntime backend."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap

import numpy as np
import onnxruntime as ort
import pytest
import torch

from gesture_core.contracts import Word
from gesture_core.errors import ConfigError, ModelError
from gesture_core.generation.base import SpeechInput, Style
from gesture_core.models.common_torch import max_abs_diff
from gesture_core.models.trimodal import export
from gesture_core.models.trimodal.checkpoint import load_model, save_checkpoint
from gesture_core.models.trimodal.config import ONNX_FILE, ONNX_INPUTS, TrimodalConfig
from gesture_core.models.trimodal.generator import TrimodalGenerator
from gesture_core.models.trimodal.model import PoseGenerator
from gesture_core.models.trimodal.runtime import OnnxTrimodalGenerator, select_providers
from gesture_core.vocab import Vocab

WORDS = ["hello", "world", "robot"]


def make_checkpoint(path, **cfg):
    torch.manual_seed(1)
    config = TrimodalConfig(n_words=len(WORDS) + 4, n_speakers=cfg.pop("n_speakers", 3), hidden_size=32, n_layers=2)
    save_checkpoint(path, PoseGenerator(config).eval(), Vocab(WORDS))
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A small checkpoint exported with the CLI (the exporter takes ~20-30 s on this machine)."""
    path = make_checkpoint(tmp_path_factory.mktemp("onnx") / "ckpt")
    assert export.main([str(path)]) == 0
    return path


def speech() -> SpeechInput:
    t = np.arange(4 * 16000) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 150 * t) * np.sin(2 * np.pi * 1.5 * t) ** 2).astype(np.float32)
    return SpeechInput(audio, [Word("Hello", 0.2, 0.6), Word("robot", 1.0, 1.4), Word("xyzzy", 2.5, 2.9)])


@pytest.mark.slow
@pytest.mark.parametrize("batch", [1, 3, 5])
def test_onnx_matches_pytorch_on_random_inputs(exported, batch):
    model, _ = load_model(exported)
    inputs = export.example_inputs(model, batch=batch, seed=10 + batch)
    sess = ort.InferenceSession(str(exported / ONNX_FILE), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["pre_seq", "text_ids", "audio", "speaker_weights", "eps"]
    diff = max_abs_diff(model, exported / ONNX_FILE, inputs, ONNX_INPUTS)
    # Observed: ~2e-7 (float32 round-off); the batch dimension is dynamic.
    assert diff < 1e-4, f"max abs diff onnxruntime vs torch: {diff:.3g}"


@pytest.mark.slow
def test_onnx_generator_matches_torch_generator(exported):
    style = Style(speaker=2, seed=3, variability=0.8, amplitude=1.2)
    want = TrimodalGenerator(exported).generate(speech(), style)
    got = OnnxTrimodalGenerator(exported).generate(speech(), style)
    assert got.shape == (60, 27)
    assert np.abs(got - want).max() < 1e-4


@pytest.mark.slow
def test_runtime_generates_without_torch(exported, tmp_path):
    """In a process where ``import torch`` fails, the onnxruntime backend loads and generates the
    same poses as the torch backend here."""
    out = tmp_path / "poses.npy"
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["torch"] = None  # any `import torch` now raises ImportError
        import numpy as np
        from gesture_core.contracts import Word
        from gesture_core.generation.base import SpeechInput, Style
        from gesture_core.models.trimodal.runtime import OnnxTrimodalGenerator
        t = np.arange(4 * 16000) / 16000
        audio = (0.3 * np.sin(2 * np.pi * 150 * t) * np.sin(2 * np.pi * 1.5 * t) ** 2).astype(np.float32)
        words = [Word("Hello", 0.2, 0.6), Word("robot", 1.0, 1.4), Word("xyzzy", 2.5, 2.9)]
        poses = OnnxTrimodalGenerator({str(exported)!r}).generate(SpeechInput(audio, words), Style(seed=4))
        np.save({str(out)!r}, poses)
        assert sys.modules["torch"] is None
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    want = TrimodalGenerator(exported).generate(speech(), Style(seed=4))
    assert np.abs(np.load(out) - want).max() < 1e-4


def test_runtime_package_imports_without_torch():
    code = (
        "import sys, json; sys.modules['torch'] = None; "
        "import gesture_core.models.trimodal, gesture_core.models.trimodal.runtime, gesture_core.generation.windows; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'onnx', 'onnxscript') "
        "and sys.modules[m] is not None)))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == []  # neither torch nor the exporter's packages


def test_provider_selection_falls_back_to_cpu(caplog):
    available = set(ort.get_available_providers())
    requested = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    with caplog.at_level(logging.WARNING):
        chosen = select_providers(requested)
    assert chosen == [p for p in requested if p in available]
    for p in requested:
        assert (f"{p} is not available" in caplog.text) == (p not in available)
    assert select_providers([])[-1] == "CPUExecutionProvider"
    with pytest.raises(ConfigError, match="CUDAExecutionprovider"):
        select_providers(["CUDAExecutionprovider"])


@pytest.mark.slow
def test_requesting_a_gpu_provider_still_runs(exported, caplog):
    with caplog.at_level(logging.WARNING):
        gen = OnnxTrimodalGenerator(exported, providers=["CUDAExecutionProvider"])
    assert gen.providers[-1] == "CPUExecutionProvider"
    assert gen.generate(speech(), Style()).shape == (60, 27)


def test_missing_or_corrupt_onnx_file_is_a_model_error(tmp_path):
    path = make_checkpoint(tmp_path / "ckpt")
    with pytest.raises(ModelError, match="model.onnx: missing; run `python -m gesture_core.models.trimodal.export"):
        OnnxTrimodalGenerator(path)
    (path / ONNX_FILE).write_bytes(b"\x08\x07not an onnx model")
    with pytest.raises(ModelError, match="model.onnx: onnxruntime cannot load it"):
        OnnxTrimodalGenerator(path)
    with pytest.raises(ModelError, match="does not exist"):
        OnnxTrimodalGenerator(tmp_path / "nowhere")


@pytest.mark.slow
def test_onnx_file_of_another_model_is_rejected(exported, tmp_path):
    other = make_checkpoint(tmp_path / "other", n_speakers=5)
    (other / ONNX_FILE).write_bytes((exported / ONNX_FILE).read_bytes())
    with pytest.raises(ModelError, match="input 'speaker_weights' has shape \\[3\\] after the batch, config.json says \\[5\\]"):
        OnnxTrimodalGenerator(other)
