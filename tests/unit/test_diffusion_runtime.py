"""Diffusion checkpoints, ONNX export, and both generators (PyTorch, onnxruntime without torch)
running through the window engine. One small randomly initialised model, exported once per module."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from gesture_core import skeleton
from gesture_core.contracts import Word
from gesture_core.errors import ConfigError, ModelError
from gesture_core.generation.base import SpeechInput, Style
from gesture_core.models.common_torch import max_abs_diff
from gesture_core.models.diffusion import export
from gesture_core.models.diffusion.checkpoint import load_model, save_checkpoint
from gesture_core.models.diffusion.config import (
    CONFIG_FILE,
    DENOISER_INPUTS,
    ONNX_FILE,
    WEIGHTS_FILE,
    DiffusionConfig,
)
from gesture_core.models.diffusion.generator import DiffusionGenerator
from gesture_core.models.diffusion.model import GestureDenoiser
from gesture_core.models.diffusion.runtime import OnnxDiffusionGenerator
from gesture_core.models.diffusion.sampler import SamplerConfig
from gesture_core.vocab import Vocab

WORDS = ["hello", "robot", "wave", "look", "here"]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small model with random weights everywhere (the zero-initialised output layers too, so
    the network's output depends on every input), saved and exported with the CLI."""
    vocab = Vocab(WORDS)
    cfg = DiffusionConfig(
        n_words=len(vocab), n_speakers=4, d_model=32, n_layers=2, n_heads=2, d_ff=64,
        word_dim=16, audio_dim=8, text_dim=8, speaker_dim=4, cond_dim=16,
    )  # fmt: skip
    torch.manual_seed(0)
    model = GestureDenoiser(cfg)
    for p in model.parameters():
        nn.init.normal_(p, 0.0, 0.1)
    path = tmp_path_factory.mktemp("diffusion") / "ckpt"
    save_checkpoint(path, model, vocab, provenance={"weights": "random"})
    assert export.main([str(path)]) == 0
    return path


def speech(seconds: float = 3.0) -> SpeechInput:
    t = np.arange(int(seconds * 16000)) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 1.5 * t))).astype(np.float32)
    return SpeechInput(
        audio, [Word("Hello", 0.1, 0.5, 1.0), Word("robot", 0.6, 1.1, 1.0), Word("zebra", 2.0, 2.4, 1.0)]
    )


class CountingDenoiser(nn.Module):
    """Instrumentation: the real model, counting its denoising and encoding calls."""

    def __init__(self, model: GestureDenoiser):
        super().__init__()
        self.model = model
        self.steps = 0
        self.encodes = 0

    def encode(self, *args: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.encodes += 1
        return self.model.encode(*args)

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        self.steps += 1
        return self.model(*args)


# ---------------------------------------------------------------------------- checkpoint


def test_checkpoint_round_trip(ckpt, tmp_path):
    model, meta = load_model(ckpt)
    assert meta.vocab == Vocab(WORDS) and meta.provenance == {"weights": "random"}
    assert json.loads((ckpt / CONFIG_FILE).read_text())["backend"] == "diffusion"
    save_checkpoint(tmp_path / "again", model, meta.vocab)
    again, meta2 = load_model(tmp_path / "again")
    assert meta2.config == meta.config
    state, state2 = model.state_dict(), again.state_dict()
    assert state.keys() == state2.keys()
    for key in state:
        torch.testing.assert_close(state2[key], state[key], rtol=0, atol=0)


def test_broken_checkpoints_raise_model_error_naming_the_file(ckpt, tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_model(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "vocab.json"):
        (broken / name).write_bytes((ckpt / name).read_bytes())
    with pytest.raises(ModelError, match=f"{WEIGHTS_FILE}: checkpoint file is missing"):
        load_model(broken)
    (broken / WEIGHTS_FILE).write_bytes((ckpt / WEIGHTS_FILE).read_bytes()[:1000])
    with pytest.raises(ModelError, match=f"{WEIGHTS_FILE}: cannot load"):
        load_model(broken)
    doc = json.loads((ckpt / CONFIG_FILE).read_text())
    (broken / CONFIG_FILE).write_text(json.dumps({**doc, "backend": "trimodal"}))
    with pytest.raises(ModelError, match="'backend'"):
        load_model(broken)
    (broken / CONFIG_FILE).write_text(json.dumps({**doc, "config": {**doc["config"], "d_model": -1}}))
    with pytest.raises(ModelError, match="diffusion.d_model"):
        load_model(broken)
    (broken / CONFIG_FILE).write_text(json.dumps(doc))
    with pytest.raises(
        ModelError, match="encoder.onnx: missing; run `python -m gesture_core.models.diffusion.export"
    ):
        OnnxDiffusionGenerator(broken)
    assert export.main([str(tmp_path / "nowhere")]) == 1


# -------------------------------------------------------------------------------- ONNX


def test_onnx_denoising_step_matches_pytorch(ckpt):
    model, _ = load_model(ckpt)
    inputs = export.denoiser_inputs(model, batch=4, seed=7)
    diff = max_abs_diff(model, ckpt / ONNX_FILE, inputs, DENOISER_INPUTS)
    with torch.inference_mode():
        scale = float(model(*inputs).abs().max())
    assert scale > 0.1  # a non-trivial output...
    assert diff < 1e-4, f"onnxruntime vs torch max abs diff {diff:.2e}"  # ...that the ONNX graph reproduces


def test_onnx_condition_encoder_matches_pytorch(ckpt):
    model, _ = load_model(ckpt)
    inputs = export.encoder_inputs(model, batch=3, seed=3)
    diff = max_abs_diff(
        export.ConditionGraph(model), ckpt / "encoder.onnx", inputs, ("audio", "text_ids", "speaker_weights")
    )
    assert diff < 1e-4, f"onnxruntime vs torch max abs diff {diff:.2e}"


def test_onnx_and_torch_generators_agree(ckpt):
    sampler = SamplerConfig(steps=4, eta=0.5, guidance=2.0)
    a = DiffusionGenerator(ckpt, sampler=sampler).generate(speech(), Style(seed=5, speaker=2))
    b = OnnxDiffusionGenerator(ckpt, sampler=sampler).generate(speech(), Style(seed=5, speaker=2))
    assert a.shape == b.shape == (speech().n_frames, 27)
    assert np.abs(a - b).max() < 1e-4


def test_runtime_falls_back_to_cpu_and_rejects_unknown_providers(ckpt):
    wanted = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    gen = OnnxDiffusionGenerator(ckpt, providers=wanted)
    assert gen.providers[-1] == "CPUExecutionProvider"
    assert set(gen.providers) <= set(ort.get_available_providers())
    with pytest.raises(ConfigError, match="NoSuchExecutionProvider"):
        OnnxDiffusionGenerator(ckpt, providers=["NoSuchExecutionProvider"])


def test_runtime_imports_and_runs_without_torch(ckpt):
    script = textwrap.dedent(
        f"""
        import json, sys
        import numpy as np
        sys.modules["torch"] = None  # any `import torch` now raises ImportError
        from gesture_core.generation.base import SpeechInput, Style
        from gesture_core.models.diffusion.runtime import OnnxDiffusionGenerator
        from gesture_core.models.diffusion.sampler import SamplerConfig
        gen = OnnxDiffusionGenerator({str(ckpt)!r}, sampler=SamplerConfig(steps=3))
        poses = gen.generate(SpeechInput(0.1 * np.ones(40000, np.float32)), Style(seed=1))
        norms = np.linalg.norm(poses.reshape(-1, 9, 3), axis=-1)
        loaded = sorted(m for m, v in sys.modules.items() if m.split(".")[0] == "torch" and v is not None)
        print(json.dumps({{"shape": list(poses.shape), "norm_err": float(np.abs(norms - 1).max()), "torch": loaded}}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"shape": [38, 27], "norm_err": pytest.approx(0.0, abs=1e-9), "torch": []}


# ------------------------------------------------------------------- generator behaviour


@pytest.mark.parametrize("guidance", [1.0, 2.5])
@pytest.mark.parametrize("steps", [1, 4, 10])
def test_sampler_calls_the_denoiser_once_per_step_and_the_encoder_once_per_window(ckpt, steps, guidance):
    gen = DiffusionGenerator(ckpt, sampler=SamplerConfig(steps=steps, guidance=guidance))
    gen.model = counter = CountingDenoiser(gen.model)
    sp = speech(5.0)  # 75 frames: 3 windows
    gen.generate(sp, Style())
    n_windows = gen.spec.n_windows(sp.n_frames)
    assert n_windows == 3
    assert counter.encodes == n_windows
    assert counter.steps == steps * n_windows


def test_guidance_scale_one_is_the_conditional_prediction_of_the_model(ckpt):
    gen = DiffusionGenerator(ckpt)
    rng = np.random.default_rng(0)
    audio = (0.2 * rng.standard_normal((2, gen.config.audio_samples))).astype(np.float32)
    text = rng.integers(0, len(WORDS) + 4, (2, 34))
    weights = np.stack([gen.speaker_weights(1), gen.speaker_weights(None)])
    cond, uncond = gen.encode(audio, text, weights)
    pre_seq = np.zeros((2, 34, 28), np.float32)
    x = rng.standard_normal((2, 34, 27)).astype(np.float32)
    t = np.full(2, 700, np.float32)
    want_cond, want_uncond = gen.denoise(x, t, cond, pre_seq), gen.denoise(x, t, uncond, pre_seq)
    assert np.abs(want_cond - want_uncond).max() > 1e-3  # the condition matters
    np.testing.assert_array_equal(gen.predictor(cond, uncond, pre_seq, 1.0)(x, 700), want_cond)
    np.testing.assert_allclose(gen.predictor(cond, uncond, pre_seq, 0.0)(x, 700), want_uncond, atol=1e-5)
    guided = want_uncond + 2.5 * (want_cond - want_uncond)
    np.testing.assert_allclose(gen.predictor(cond, uncond, pre_seq, 2.5)(x, 700), guided, atol=1e-5)


def test_same_seed_same_motion_different_seed_different_motion(ckpt):
    gen = OnnxDiffusionGenerator(ckpt, sampler=SamplerConfig(steps=4, eta=1.0))
    a = gen.generate(speech(), Style(seed=1))
    np.testing.assert_array_equal(gen.generate(speech(), Style(seed=1)), a)
    assert np.abs(gen.generate(speech(), Style(seed=2)) - a).max() > 1e-2


def test_style_controls(ckpt):
    gen = OnnxDiffusionGenerator(ckpt, sampler=SamplerConfig(steps=3))
    mean = skeleton.normalize_directions(gen.mean_pose)
    still = gen.generate(speech(), Style(amplitude=0.0))
    np.testing.assert_allclose(still, np.broadcast_to(mean, still.shape), atol=1e-12)
    # variability 0: no noise at all, so the seed does not matter
    np.testing.assert_array_equal(gen.generate(speech(), Style(seed=1, variability=0.0)),
                                  gen.generate(speech(), Style(seed=2, variability=0.0)))  # fmt: skip
    assert (
        np.abs(gen.generate(speech(), Style(speaker=1)) - gen.generate(speech(), Style(speaker=3))).max()
        > 1e-3
    )
    with pytest.raises(ConfigError, match="style.speaker"):
        gen.generate(speech(), Style(speaker=4))


def record_windows(gen: OnnxDiffusionGenerator) -> list[np.ndarray]:
    """Instrumentation: keep every window :meth:`sample` returns (normalised poses)."""
    windows: list[np.ndarray] = []
    sample = gen.sample

    def recording(*args, **kwargs) -> np.ndarray:
        out = sample(*args, **kwargs)
        windows.append(out[0].astype(np.float64))
        return out

    gen.sample = recording
    return windows


def test_window_joins_are_continuous(ckpt):
    """With seed in-painting each window starts exactly where the previous one ended, so the
    engine's cross-fade joins identical frames: no jump at the window boundaries."""
    gen = OnnxDiffusionGenerator(ckpt, sampler=SamplerConfig(steps=4, inpaint_seed=True))
    windows = record_windows(gen)
    poses = gen.generate(speech(5.0), Style(seed=3, amplitude=1.5))
    assert len(windows) == 3
    for k in range(2):
        np.testing.assert_allclose(windows[k + 1][:4], windows[k][30:], atol=1e-6)
        joined = skeleton.normalize_directions(gen.mean_pose + 1.5 * windows[k][30:])
        np.testing.assert_allclose(poses[30 * (k + 1) : 30 * (k + 1) + 4], joined, atol=1e-6)


def test_streaming_seed_poses_are_continued(ckpt):
    gen = OnnxDiffusionGenerator(ckpt, sampler=SamplerConfig(steps=4, inpaint_seed=True))
    first = gen.generate(speech(), Style(seed=4))
    windows = record_windows(gen)
    gen.generate(speech(), Style(seed=5), seed_poses=first[-4:])
    np.testing.assert_allclose(windows[0][:4], first[-4:] - gen.mean_pose, atol=1e-6)
