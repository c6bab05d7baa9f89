"""The generator registry (backend name + checkpoint -> generator) and windowed streaming generation."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from gesture_core import skeleton
from gesture_core.contracts import AUDIO_SAMPLE_RATE as SR
from gesture_core.contracts import GESTURE_FPS as FPS
from gesture_core.errors import ConfigError, ModelError
from gesture_core.features import extract_features
from gesture_core.generation.base import SpeechInput, Style
from gesture_core.generation.factory import BACKENDS, make_generator, providers_for
from gesture_core.generation.streaming import GestureStream
from gesture_core.models.procedural import ProceduralGenerator
from gesture_core.vocab import Vocab
from gesture_core.weights import default_checkpoint


@pytest.fixture(scope="module")
def tone(speech_with_clicks):
    """(N,) float32: steady speech-like sound (faded in, not out) with optional noise clicks."""
    return lambda duration, clicks=(): speech_with_clicks(duration, speech=(0.0, 100.0), clicks=clicks)


# -- the registry -----------------------------------------------------------------------------------


def test_procedural_backend_loads_no_model_runtime() -> None:
    """The default backend works without importing torch or onnxruntime (checked in a fresh process)."""
    code = (
        "import sys\n"
        "from gesture_core.generation.factory import make_generator\n"
        "g = make_generator('procedural', checkpoint='/ignored')\n"
        "assert g.name == 'procedural', g.name\n"
        "print(sorted(m for m in ('torch', 'onnxruntime') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bad_names_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="backend 'gan'"):
        make_generator("gan")
    with pytest.raises(ConfigError, match="execution_provider 'tpu'"):
        providers_for("tpu")
    assert providers_for("cuda") == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert set(BACKENDS) == {"procedural", "trimodal", "diffusion"}


@pytest.mark.parametrize("backend", ["trimodal", "diffusion"])
def test_missing_or_corrupt_checkpoints_raise_model_error(backend: str, tmp_path) -> None:
    if default_checkpoint(backend) is None:
        with pytest.raises(ModelError, match="needs a checkpoint directory"):
            make_generator(backend, None)
    else:  # no directory given: the weights shipped with the package
        assert make_generator(backend, None).name == backend
    missing = tmp_path / "missing"
    with pytest.raises(ModelError, match=f"{backend} checkpoint directory {missing} does not exist"):
        make_generator(backend, missing)
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "config.json").write_text("{ not json")
    with pytest.raises(ModelError, match="config.json"):
        make_generator(backend, corrupt)


@pytest.fixture(scope="module")
def trimodal_checkpoint(tmp_path_factory):
    """A tiny random Trimodal checkpoint in the project format (no ONNX export)."""
    torch = pytest.importorskip("torch")
    from gesture_core.models.trimodal.checkpoint import save_checkpoint
    from gesture_core.models.trimodal.config import TrimodalConfig
    from gesture_core.models.trimodal.model import PoseGenerator

    torch.manual_seed(0)
    words = ["hello", "robot"]
    config = TrimodalConfig(n_words=len(words) + 4, n_speakers=2, hidden_size=16, n_layers=1)
    path = tmp_path_factory.mktemp("trimodal") / "ckpt"
    save_checkpoint(path, PoseGenerator(config).eval(), Vocab(words))
    return path


def test_trimodal_runs_on_torch_without_onnx_and_on_onnxruntime_with_it(
    trimodal_checkpoint, tmp_path, tone
) -> None:
    from gesture_core.models.trimodal.generator import TrimodalGenerator

    gen = make_generator("trimodal", str(trimodal_checkpoint), providers_for("cpu"))
    assert isinstance(gen, TrimodalGenerator)
    poses = gen.generate(SpeechInput(tone(1.0)), Style())
    assert poses.shape == (15, skeleton.POSE_DIM)

    # With a model.onnx present the onnxruntime generator is chosen: a broken file shows it tried.
    onnx_dir = tmp_path / "with-onnx"
    onnx_dir.mkdir()
    for f in trimodal_checkpoint.iterdir():
        (onnx_dir / f.name).write_bytes(f.read_bytes())
    (onnx_dir / "model.onnx").write_bytes(b"\x08garbage")
    with pytest.raises(ModelError, match="onnxruntime cannot load it"):
        make_generator("trimodal", onnx_dir)


@pytest.fixture(scope="module")
def diffusion_checkpoint(tmp_path_factory):
    """A tiny random diffusion checkpoint (no ONNX export)."""
    torch = pytest.importorskip("torch")
    from gesture_core.models.diffusion.checkpoint import save_checkpoint
    from gesture_core.models.diffusion.config import DiffusionConfig
    from gesture_core.models.diffusion.model import GestureDenoiser

    torch.manual_seed(0)
    words = ["hello", "robot"]
    config = DiffusionConfig(n_words=len(words) + 4, n_speakers=2, d_model=16, n_layers=1, n_heads=2, d_ff=32,
                             word_dim=8, audio_dim=8, text_dim=8, speaker_dim=4, cond_dim=8)  # fmt: skip
    path = tmp_path_factory.mktemp("diffusion") / "ckpt"
    save_checkpoint(path, GestureDenoiser(config).eval(), Vocab(words))
    return path


def record_network_calls(generator) -> dict[str, list[int]]:
    """Wrap the generator's ``encode`` and ``denoise`` (still running them) to record the batch
    size of every call, as lists under those names."""
    calls: dict[str, list[int]] = {"encode": [], "denoise": []}
    for name, batches in calls.items():

        def recorded(*args, _run=getattr(generator, name), _batches=batches):
            _batches.append(len(args[0]))
            return _run(*args)

        setattr(generator, name, recorded)
    return calls


def test_diffusion_sampler_settings_reach_the_generator_and_change_without_reloading(
    diffusion_checkpoint, tone
) -> None:
    from gesture_core.models.diffusion.generator import DiffusionGenerator
    from gesture_core.models.diffusion.sampler import SamplerConfig

    assert make_generator("diffusion", diffusion_checkpoint).sampler == SamplerConfig(steps=8)
    gen = make_generator("diffusion", diffusion_checkpoint, steps=3)
    assert isinstance(gen, DiffusionGenerator)
    calls = record_network_calls(gen)
    speech = SpeechInput(tone(3.0))  # 45 frames: 2 windows of 34
    first = gen.generate(speech, Style())
    assert calls == {"encode": [1, 1], "denoise": [1] * 2 * 3}  # one network call per step and window

    model = gen.model
    gen.configure(steps=2, guidance_scale=2.0)  # changed live (the backend's settings): the next call uses it
    for batches in calls.values():
        batches.clear()
    second = gen.generate(speech, Style())
    assert gen.model is model
    assert calls == {"encode": [1, 1], "denoise": [2] * 2 * 2}  # guided: conditional + unconditional batch
    assert first.shape == second.shape == (45, skeleton.POSE_DIM) and not np.allclose(first, second)

    # Settings are the backend's own: validated by its settings class, unknown to the others.
    with pytest.raises(ConfigError, match="steps=0 is outside"):
        make_generator("diffusion", diffusion_checkpoint, steps=0)
    with pytest.raises(ConfigError, match="unknown setting"):
        make_generator("procedural", steps=2)


# -- streaming ------------------------------------------------------------------------------------


def stream_in_chunks(stream: GestureStream, audio: np.ndarray, chunk: int = SR // 10) -> list:
    """Feed ``audio`` as the node does (the utterance so far after every chunk), then finish."""
    windows = []
    for n in range(chunk, audio.size + chunk, chunk):
        so_far = audio[: min(n, audio.size)]
        while stream.pending(so_far.size):
            windows.append(stream.next_window(so_far))
    last = stream.finish(audio)
    return windows + ([last] if last is not None else [])


def test_windows_cover_the_utterance_and_join_smoothly(tone) -> None:
    audio = tone(5.3, clicks=(0.6, 1.5, 2.4, 3.3, 4.4))
    windows = stream_in_chunks(GestureStream(ProceduralGenerator(), Style(), "u1"), audio)
    assert [(w.first_frame, len(w.poses)) for w in windows] == [(0, 30), (30, 30), (60, 20)]
    poses = np.concatenate([w.poses for w in windows])
    assert len(poses) == SpeechInput(audio).n_frames == math.ceil(5.3 * FPS)
    np.testing.assert_allclose(np.linalg.norm(skeleton.as_directions(poses), axis=-1), 1.0, atol=1e-9)
    # Seeded windows join without a jump: the step into a window is small (unseeded: ~0.1-0.35).
    steps = np.abs(np.diff(poses, axis=0)).max(axis=1)
    assert steps[[29, 59]].max() < 0.1


def test_window_at_an_exact_boundary_and_short_tail(tone) -> None:
    stream = GestureStream(ProceduralGenerator(), Style(), "u2")
    assert [len(w.poses) for w in stream_in_chunks(stream, tone(4.0))] == [30, 30]
    stream = GestureStream(ProceduralGenerator(), Style(), "u3")
    windows = stream_in_chunks(stream, tone(2.01))
    assert [(w.first_frame, len(w.poses)) for w in windows] == [(0, 30), (30, 1)]
    with pytest.raises(ConfigError, match="needs more audio"):
        GestureStream(ProceduralGenerator(), Style(), "u4").next_window(tone(1.0))
    with pytest.raises(ConfigError, match="window_frames=7"):
        GestureStream(ProceduralGenerator(), Style(), "u5", window_frames=7)


def test_window_features_see_onsets_at_the_window_start_and_not_the_cut(tone) -> None:
    """A click right at a window's start: the window's features (computed with context before it)
    have it, at full strength; the window's audio alone misses it, and shows the cut at its end as
    an onset, which the window's features drop."""
    audio = tone(4.0, clicks=(2.0,))
    stream = GestureStream(ProceduralGenerator(), Style(), "u6")
    f = stream._window_features(audio, 2 * SR, 4 * SR)  # the second window: samples [32000, 64000)
    assert f.t0 == pytest.approx(0.0) and f.n_frames == 30
    np.testing.assert_allclose(f.onsets, [0.0], atol=0.02)
    assert f.onset_strength[0] > 10 * np.median(f.onset_strength)
    alone = extract_features(audio[2 * SR : 4 * SR], "u6")
    assert np.all(alone.onsets > 0.1) and alone.onsets.max() == pytest.approx(2.0)
