"""Trimodal model (PyTorch): config validation, layer shapes and names, parameter count, the
project checkpoint format (round trip, corrupt files) and the torch generator's style controls."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gesture_core import skeleton
from gesture_core.contracts import Word
from gesture_core.errors import ConfigError, ModelError
from gesture_core.generation.base import SpeechInput, Style
from gesture_core.models.trimodal.checkpoint import load_model, save_checkpoint
from gesture_core.models.trimodal.config import WEIGHTS_FILE, TrimodalConfig, read_meta
from gesture_core.models.trimodal.generator import TrimodalGenerator
from gesture_core.models.trimodal.model import PoseGenerator, n_parameters
from gesture_core.vocab import Vocab

WORDS = ["hello", "world", "robot", "gesture", "dont"]


def small_config(**kw) -> TrimodalConfig:
    """A fast model with the official input/output sizes (34 frames, 36266 samples, 27 values)."""
    args = dict(n_words=len(WORDS) + 4, n_speakers=4, hidden_size=32, n_layers=2)
    args.update(kw)
    return TrimodalConfig(**args)


def random_inputs(cfg: TrimodalConfig, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    pre = torch.zeros(batch, cfg.n_poses, 28)
    pre[:, :4, :27] = 0.1 * torch.randn(batch, 4, 27, generator=g)
    pre[:, :4, 27] = 1
    return (
        pre,
        torch.randint(0, cfg.n_words, (batch, cfg.n_poses), generator=g),
        0.1 * torch.randn(batch, cfg.audio_samples, generator=g),
        torch.nn.functional.one_hot(torch.arange(batch) % cfg.n_speakers, cfg.n_speakers).float(),
        torch.randn(batch, cfg.z_dim, generator=g),
    )


@pytest.fixture(scope="module")
def ckpt_dir(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("trimodal") / "ckpt"
    save_checkpoint(path, PoseGenerator(small_config()).eval(), Vocab(WORDS), [None, "a", "b", "c"], {"test": True})
    return path


@pytest.fixture(scope="module")
def generator(ckpt_dir):
    return TrimodalGenerator(ckpt_dir)


def speech(seconds: float = 5.0, words: list[Word] | None = None, seed: int = 0) -> SpeechInput:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    audio = 0.3 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t)) + 0.01 * rng.standard_normal(t.size)
    return SpeechInput(audio.astype(np.float32), words or [])


# --------------------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"hidden_size": 0}, "hidden_size"),
        ({"n_pre_poses": 34}, "n_pre_poses"),
        ({"dropout": 1.5}, "dropout"),
        ({"mean_dir_vec": [0.0] * 26}, "mean_dir_vec"),
        ({"n_words": 4}, "n_words"),
        ({"fps": -1.0}, "fps"),
    ],
)
def test_config_validation_names_the_field(kw, field):
    with pytest.raises(ConfigError, match=field):
        small_config(**kw)


def test_config_dict_round_trip_and_unknown_keys():
    cfg = small_config()
    assert TrimodalConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="trimodal.hiden_size: unknown key"):
        TrimodalConfig.from_dict({**cfg.to_dict(), "hiden_size": 3})
    with pytest.raises(ConfigError, match="n_speakers: missing"):
        TrimodalConfig.from_dict({"n_words": 10})
    assert cfg.audio_samples == 36266 and cfg.gru_input_size == 108


# ---------------------------------------------------------------------------------------- model


def test_full_size_shapes_and_parameter_count():
    cfg = TrimodalConfig(n_words=50, n_speakers=11)
    model = PoseGenerator(cfg).eval()
    pre, text, audio, spk, eps = random_inputs(cfg, batch=2)
    with torch.inference_mode():
        assert model.audio_encoder(audio).shape == (2, 34, 32)  # 36266 samples -> 34 frames
        assert model.text_encoder(text).shape == (2, 34, 32)
        assert model(pre, text, audio, spk, eps).shape == (2, 34, 27)

    # Count from the layer sizes of the paper's model (H = 300 hidden, 4 layers, z 16).
    H, Z, S = 300, 16, 11
    audio_enc = (16 * 15 + 16) + (16 * 32 * 15 + 32) + (32 * 64 * 15 + 64) + (64 * 32 * 15 + 32) + 2 * (16 + 32 + 64)
    tcn = 4 * 2 * (H * H * 2 + H + H)  # each weight-normed conv: v (H, H, 2), g (H), bias (H)
    text_dec = H * 32 + 32
    speaker = S * Z + 3 * (Z * Z + Z)
    gru = 2 * 3 * (H * 108 + H * H + 2 * H) + 3 * 2 * 3 * (H * 2 * H + H * H + 2 * H)
    out = H * 150 + 150 + 150 * 27 + 27
    expected = audio_enc + tcn + text_dec + speaker + gru + out
    assert n_parameters(model, include_embedding=False) == expected
    assert 7.1e6 < expected < 7.3e6  # "about 7.2 M parameters plus the embedding table"
    assert n_parameters(model) == expected + 50 * 300


def test_tcn_keeps_official_names_with_aliases():
    sd = PoseGenerator(TrimodalConfig(n_words=50, n_speakers=3)).state_dict()
    prefix = "text_encoder.tcn.network.3."
    g, v = "parametrizations.weight.original0", "parametrizations.weight.original1"
    assert sd[prefix + "conv1." + g].shape == (300, 1, 1) and sd[prefix + "conv1." + v].shape == (300, 300, 2)
    for a, b in (("conv1.", "net.0."), ("conv2.", "net.4.")):
        for leaf in (g, v, "bias"):
            assert sd[prefix + a + leaf].data_ptr() == sd[prefix + b + leaf].data_ptr()
    assert f"{prefix}downsample.weight" not in sd  # 300 -> 300 channels: no residual projection
    assert sd["gru.weight_ih_l0"].shape == (900, 108) and sd["gru.weight_hh_l3_reverse"].shape == (900, 300)
    assert sd["speaker_embedding.0.weight"].shape == (3, 16) and sd["out.2.weight"].shape == (27, 150)


def test_text_encoder_is_causal():
    """A word at frame t changes text features at frames >= t only (causal TCN)."""
    model = PoseGenerator(small_config()).eval()
    ids = torch.zeros(1, 34, dtype=torch.long)
    changed = ids.clone()
    changed[0, 20] = 5
    with torch.inference_mode():
        a, b = model.text_encoder(ids), model.text_encoder(changed)
    diff = (a - b).abs().amax(dim=2)[0]
    assert torch.all(diff[:20] == 0) and diff[20] > 0


def test_style_weights_match_embedding_lookup_and_output_layer_is_linear():
    cfg = small_config()
    model = PoseGenerator(cfg).eval()
    ids = torch.tensor([2, 0, 3])
    with torch.inference_mode():
        mu, logvar = model.style(torch.nn.functional.one_hot(ids, cfg.n_speakers).float())
        ctx = model.speaker_embedding(ids)
        torch.testing.assert_close(mu, model.speaker_mu(ctx))
        torch.testing.assert_close(logvar, model.speaker_logvar(ctx))
        x = torch.randn(5, cfg.hidden_size // 2)
        assert torch.equal(model.out[1](x), x)  # LeakyReLU(slope 1): the authors' identity


# ----------------------------------------------------------------------------------- checkpoint


def test_checkpoint_round_trip_gives_identical_outputs(ckpt_dir, tmp_path):
    model, meta = load_model(ckpt_dir)
    assert meta.vocab == Vocab(WORDS) and meta.speakers == [None, "a", "b", "c"] and meta.provenance == {"test": True}
    again_dir = tmp_path / "again"
    save_checkpoint(again_dir, model, meta.vocab, meta.speakers)
    again, _ = load_model(again_dir)
    for (k, a), (k2, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert k == k2 and torch.equal(a, b), k
    inputs = random_inputs(meta.config, batch=3)
    with torch.inference_mode():
        assert torch.equal(model(*inputs), again(*inputs))


def test_weights_file_stores_aliases_once(ckpt_dir):
    from safetensors import safe_open

    with safe_open(str(ckpt_dir / WEIGHTS_FILE), "pt") as f:
        keys = set(f.keys())
    assert "text_encoder.tcn.network.0.conv1.bias" in keys
    assert not any(".net.0." in k or ".net.4." in k for k in keys)


def _copy_ckpt(src, dst):
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def _with_config(ckpt, **changes):
    """Change entries of the checkpoint's config.json in place."""
    doc = json.loads((ckpt / "config.json").read_text())
    doc["config"].update(changes)
    (ckpt / "config.json").write_text(json.dumps(doc))
    return ckpt


def test_missing_and_corrupt_checkpoints_raise_model_error(ckpt_dir, tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_model(tmp_path / "nowhere")

    d = _copy_ckpt(ckpt_dir, tmp_path / "no_weights")
    (d / WEIGHTS_FILE).unlink()
    with pytest.raises(ModelError, match="model.safetensors: checkpoint file is missing"):
        TrimodalGenerator(d)

    d = _copy_ckpt(ckpt_dir, tmp_path / "truncated")
    data = (d / WEIGHTS_FILE).read_bytes()
    (d / WEIGHTS_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="model.safetensors"):
        load_model(d)

    d = _copy_ckpt(ckpt_dir, tmp_path / "bad_json")
    (d / "config.json").write_text("{")
    with pytest.raises(ModelError, match="config.json"):
        read_meta(d)

    d = _with_config(_copy_ckpt(ckpt_dir, tmp_path / "other_size"), hidden_size=16)
    with pytest.raises(ModelError, match="size mismatch for"):
        load_model(d)

    d = _copy_ckpt(ckpt_dir, tmp_path / "vocab")
    Vocab(WORDS[:-1]).save(d / "vocab.json")
    with pytest.raises(ModelError, match="vocab.json: 8 words, but config.json says n_words=9"):
        read_meta(d)

    d = _with_config(_copy_ckpt(ckpt_dir, tmp_path / "bad_key"), z_size=16)
    with pytest.raises(ModelError, match="config.json: trimodal.z_size: unknown key"):
        read_meta(d)


# ------------------------------------------------------------------------------------ generator


def test_generate_returns_unit_directions_for_every_frame(generator):
    sp = speech(5.0, [Word("Hello", 0.3, 0.7), Word("world", 0.8, 1.2)])
    poses = generator.generate(sp, Style())
    assert generator.name == "trimodal"
    assert poses.shape == (sp.n_frames, 27) == (75, 27)
    np.testing.assert_allclose(np.linalg.norm(poses.reshape(-1, 9, 3), axis=-1), 1.0, atol=1e-9)


def test_same_seed_same_motion_other_seed_other_motion(generator):
    sp = speech(3.0)
    a, b = generator.generate(sp, Style(seed=7)), generator.generate(sp, Style(seed=7))
    c = generator.generate(sp, Style(seed=8))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-4


def test_variability_zero_uses_the_mean_style(generator):
    sp = speech(3.0)
    a = generator.generate(sp, Style(seed=1, variability=0.0))
    b = generator.generate(sp, Style(seed=2, variability=0.0))
    np.testing.assert_array_equal(a, b)


def test_amplitude_zero_is_the_mean_pose(generator):
    poses = generator.generate(speech(2.0), Style(amplitude=0.0))
    np.testing.assert_allclose(poses, np.tile(skeleton.normalize_directions(skeleton.MEAN_DIR_VEC), (30, 1)))


def test_speaker_choice_matters_and_is_validated(generator):
    sp = speech(2.0)
    default = generator.generate(sp, Style(variability=0.0))
    spk1 = generator.generate(sp, Style(speaker=1, variability=0.0))
    spk2 = generator.generate(sp, Style(speaker=2, variability=0.0))
    assert np.abs(spk1 - spk2).max() > 1e-5 and np.abs(default - spk1).max() > 1e-5
    np.testing.assert_allclose(generator.speaker_weights(None), [0, 1 / 3, 1 / 3, 1 / 3])
    with pytest.raises(ConfigError, match="style.speaker"):
        generator.generate(sp, Style(speaker=4))


def test_words_are_normalised_and_unknown_words_are_unk(generator):
    def run(words: list[str]) -> np.ndarray:
        timed = [Word(w, 0.2 + 0.4 * i, 0.5 + 0.4 * i) for i, w in enumerate(words)]
        return generator.generate(speech(2.0, timed), Style())

    no_words = run([])
    known = run(["hello", "robot"])
    assert np.abs(known - no_words).max() > 1e-6  # words change the motion
    np.testing.assert_array_equal(run(["HELLO,", "Robot!"]), known)
    np.testing.assert_array_equal(run(["zebra", "quasar"]), run(["<UNK>", "unknownword"]))
    assert np.abs(run(["zebra", "quasar"]) - known).max() > 1e-6


def test_seed_poses_must_have_the_seed_shape(generator):
    with pytest.raises(ConfigError, match="seed_poses"):
        generator.generate(speech(1.0), Style(), seed_poses=np.zeros((2, 27)))
    poses = generator.generate(speech(1.0), Style(), seed_poses=np.tile(skeleton.MEAN_DIR_VEC, (4, 1)))
    assert poses.shape == (15, 27)
