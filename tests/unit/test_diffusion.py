"""The diffusion model's numerical core: config, noise schedule, DDIM sampler, denoiser and its training loss.

Small model sizes throughout (the full-size model is exercised by ``benchmarks/diffusion.py``); the last
test trains a small model briefly and checks the generated motion end to end.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gesture_core.errors import ConfigError, ModelError
from gesture_core.generation.base import SpeechInput, Style
from gesture_core.models.diffusion.checkpoint import save_checkpoint
from gesture_core.models.diffusion.config import DiffusionConfig
from gesture_core.models.diffusion.generator import DiffusionGenerator
from gesture_core.models.diffusion.model import GestureDenoiser, n_parameters
from gesture_core.models.diffusion.sampler import SamplerConfig, ddim_sample, guide
from gesture_core.models.diffusion.schedule import (
    add_noise,
    cosine_alpha_bar,
    sampling_timesteps,
    split_prediction,
    training_target,
)
from gesture_core.vocab import Vocab

#: A model small enough for fast tests.
SMALL = {"d_model": 32, "n_layers": 2, "n_heads": 2, "d_ff": 64, "word_dim": 16, "audio_dim": 8, "text_dim": 8,
         "speaker_dim": 4, "cond_dim": 16}  # fmt: skip


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small_config(**overrides) -> DiffusionConfig:
    return DiffusionConfig(n_words=20, n_speakers=3, **{**SMALL, **overrides})


# ------------------------------------------------------------------------------------ config


def test_config_round_trips_through_dict():
    cfg = small_config(prediction="x0", p_uncond=0.2)
    assert DiffusionConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    ("key", "value"),
    [("n_heads", 5), ("prediction", "score"), ("p_uncond", 1.0), ("pose_scale", 0.0), ("n_pre_poses", 34),
     ("n_layers", 0), ("dropout", -0.1), ("mean_dir_vec", [0.0] * 26)],
)  # fmt: skip
def test_config_rejects_bad_values_naming_the_key(key, value):
    with pytest.raises(ConfigError, match=f"diffusion.{key}"):
        small_config(**{key: value})


def test_config_from_dict_rejects_unknown_and_missing_keys():
    data = small_config().to_dict()
    with pytest.raises(ConfigError, match="diffusion.steps: unknown key"):
        DiffusionConfig.from_dict({**data, "steps": 4})
    del data["n_words"]
    with pytest.raises(ConfigError, match="diffusion.n_words: missing key"):
        DiffusionConfig.from_dict(data)


def test_sampler_config_validation():
    assert SamplerConfig(steps=50, eta=1.0, guidance=0.0).steps == 50
    for kwargs, key in (({"steps": 0}, "steps"), ({"steps": 51}, "steps"), ({"eta": 1.5}, "eta"),
                        ({"guidance": -1.0}, "guidance"), ({"inpaint_seed": 1}, "inpaint_seed")):  # fmt: skip
        with pytest.raises(ConfigError, match=f"sampler.{key}"):
            SamplerConfig(**kwargs)


# ---------------------------------------------------------------------------------- schedule


def test_cosine_alpha_bar_decreases_from_almost_one_to_almost_zero():
    ab = cosine_alpha_bar(1000)
    assert ab.shape == (1000,)
    assert np.all(np.diff(ab) < 0)
    assert 0.999 < ab[0] < 1.0 and ab[-1] == pytest.approx(1e-6)


@pytest.mark.parametrize("n_steps", [1, 4, 7, 10, 50, 1000])
def test_sampling_timesteps_are_trailing_and_descending(n_steps):
    t = sampling_timesteps(1000, n_steps)
    assert len(t) == n_steps and t[0] == 999 and t[-1] >= 0
    assert np.all(np.diff(t) < 0)


def test_sampling_timesteps_rejects_more_steps_than_training_steps():
    with pytest.raises(ConfigError, match="sampler.steps"):
        sampling_timesteps(10, 11)


@settings(max_examples=60, deadline=None)
@given(
    prediction=st.sampled_from(["v", "x0", "eps"]),
    t=st.integers(0, 999),
    seed=st.integers(0, 2**32 - 1),
)
def test_split_prediction_inverts_the_training_target(prediction, t, seed):
    """Given the exact target, the conversions recover the clean window and the noise."""
    rng = np.random.default_rng(seed)
    x0, eps = rng.standard_normal((2, 34, 27))
    ab = cosine_alpha_bar(1000)[t]
    x_t = add_noise(x0, eps, ab)
    got_x0, got_eps = split_prediction(training_target(x0, eps, ab, prediction), x_t, ab, prediction)
    # eps -> x0 divides by sqrt(ab) (>= 1e-3) and x0 -> eps by sqrt(1 - ab): tolerance scales with them
    tol = 1e-9 / min(ab, 1 - ab)
    np.testing.assert_allclose(got_x0, x0, atol=tol)
    np.testing.assert_allclose(got_eps, eps, atol=tol)


# ----------------------------------------------------------------------------------- sampler


def oracle(x0_true: np.ndarray, alpha_bar: np.ndarray, prediction: str, calls: list[int]):
    """The ideal network of a data distribution that is the single window ``x0_true``."""

    def predict(x_t: np.ndarray, t: int) -> np.ndarray:
        calls.append(t)
        ab = alpha_bar[t]
        eps = (x_t - np.sqrt(ab) * x0_true) / np.sqrt(1 - ab)
        return training_target(x0_true, eps, ab, prediction)

    return predict


@pytest.mark.parametrize("prediction", ["v", "x0", "eps"])
@pytest.mark.parametrize(("steps", "eta"), [(1, 0.0), (4, 0.0), (10, 1.0), (50, 0.5)])
def test_ddim_with_the_ideal_network_returns_the_data_in_exactly_steps_calls(prediction, steps, eta):
    ab = cosine_alpha_bar(1000)
    x0_true = np.random.default_rng(1).standard_normal((2, 34, 27)).astype(np.float32)
    calls: list[int] = []
    cfg = SamplerConfig(steps=steps, eta=eta, inpaint_seed=False)
    x = ddim_sample(
        oracle(x0_true, ab, prediction, calls), ab, prediction, x0_true.shape, cfg, np.random.default_rng(0)
    )
    assert len(calls) == steps and calls == sorted(calls, reverse=True)
    np.testing.assert_allclose(x, x0_true, atol=1e-3 if prediction == "eps" else 1e-5)


def gaussian_denoiser(mu: float, s: float, alpha_bar: np.ndarray, prediction: str):
    """The ideal network for data with i.i.d. N(mu, s^2) values: E[x0 | x_t] in closed form."""

    def predict(x_t: np.ndarray, t: int) -> np.ndarray:
        ab = alpha_bar[t]
        x0 = mu + np.sqrt(ab) * s**2 / (ab * s**2 + 1 - ab) * (x_t - np.sqrt(ab) * mu)
        eps = (x_t - np.sqrt(ab) * x0) / np.sqrt(1 - ab)
        return training_target(x0, eps, ab, prediction)

    return predict


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_ddim_with_the_ideal_gaussian_denoiser_converges_to_the_data_distribution(eta):
    """DDIM discretises the reverse process: the sample spread approaches the data's as steps grow,
    the mean is right at any step count, and the three parametrisations sample the same."""
    ab = cosine_alpha_bar(1000)
    mu, s = 0.7, 0.4
    stds = []
    for steps in (4, 10, 50):
        cfg = SamplerConfig(steps=steps, eta=eta, inpaint_seed=False)
        samples = [
            ddim_sample(gaussian_denoiser(mu, s, ab, p), ab, p, (100, 34, 27), cfg, np.random.default_rng(0))
            for p in ("v", "x0", "eps")
        ]
        np.testing.assert_allclose(samples[1], samples[0], atol=1e-4)
        np.testing.assert_allclose(samples[2], samples[0], atol=1e-3)
        assert samples[0].mean() == pytest.approx(mu, abs=0.01)
        stds.append(samples[0].std())
    assert stds[0] < stds[1] < stds[2]
    assert stds[2] == pytest.approx(s, rel=0.1)


def test_ddim_inpainting_returns_the_seed_frames_exactly():
    ab = cosine_alpha_bar(1000)
    rng = np.random.default_rng(2)
    seed_x0 = rng.standard_normal((1, 4, 27)).astype(np.float32)
    seen_heads = []

    def predict(x_t: np.ndarray, t: int) -> np.ndarray:
        seen_heads.append(x_t[:, :4].copy())
        return np.zeros_like(x_t)  # v = 0: x0 = sqrt(ab) x_t

    cfg = SamplerConfig(steps=5, eta=0.0, inpaint_seed=True)
    x = ddim_sample(predict, ab, "v", (1, 34, 27), cfg, rng, seed_x0=seed_x0)
    np.testing.assert_array_equal(x[:, :4], seed_x0)
    # at the last step (small noise) the network already saw nearly the clean seed
    assert np.abs(seen_heads[-1] - seed_x0).max() < np.abs(seen_heads[0] - seed_x0).max()


def test_ddim_is_deterministic_for_a_seeded_generator():
    ab = cosine_alpha_bar(100)
    cfg = SamplerConfig(steps=6, eta=1.0)

    def run(seed: int) -> np.ndarray:
        return ddim_sample(lambda x, t: 0.5 * x, ab, "v", (2, 34, 27), cfg, np.random.default_rng(seed))

    np.testing.assert_array_equal(run(3), run(3))
    assert np.abs(run(3) - run(4)).max() > 0.1


def test_guidance_scale_one_is_the_conditional_prediction():
    rng = np.random.default_rng(0)
    cond, uncond = rng.standard_normal((2, 3, 34, 27))
    np.testing.assert_array_equal(guide(cond, uncond, 1.0), cond)
    np.testing.assert_allclose(guide(cond, uncond, 0.0), uncond, atol=1e-12)
    np.testing.assert_allclose(guide(cond, uncond, 3.0), 3 * cond - 2 * uncond)


# ------------------------------------------------------------------------------------ model


def make_batch(cfg: DiffusionConfig, batch: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Synthetic windows whose motion follows the audio envelope: a 200 Hz tone whose loudness
    rises and falls, and the right forearm swinging with it."""
    g = torch.Generator().manual_seed(seed)
    env_frames = 0.5 + 0.5 * torch.sin(
        2 * torch.pi * (torch.rand(batch, 1, generator=g) + torch.arange(cfg.n_poses) / cfg.n_poses * 2)
    )  # (B, 34) in [0, 1]
    t = torch.arange(cfg.audio_samples) / cfg.sample_rate
    env_audio = torch.nn.functional.interpolate(env_frames[:, None], size=cfg.audio_samples, mode="linear")[
        :, 0
    ]
    audio = 0.5 * env_audio * torch.sin(2 * torch.pi * 200 * t)
    poses = torch.zeros(batch, cfg.n_poses, cfg.pose_dim)
    poses[:, :, 24:27] = 0.6 * (env_frames[..., None] - 0.5)  # right forearm direction offset
    text = torch.randint(0, cfg.n_words, (batch, cfg.n_poses), generator=g)
    speaker = torch.randint(1, cfg.n_speakers, (batch,), generator=g)
    return {"poses": poses, "audio": audio, "text": text, "speaker": speaker}


def test_full_size_model_has_one_to_three_million_parameters():
    model = GestureDenoiser(DiffusionConfig(n_words=100, n_speakers=10))
    assert 1_000_000 < n_parameters(model, include_embedding=False) < 3_000_000


def test_shapes_of_encode_forward_and_loss():
    cfg = small_config()
    model = GestureDenoiser(cfg)
    batch = make_batch(cfg, 3)
    weights = torch.nn.functional.one_hot(batch["speaker"], cfg.n_speakers).float()
    cond, uncond = model.encode(batch["audio"], batch["text"], weights)
    assert cond.shape == uncond.shape == (3, 34, cfg.cond_dim)
    pred = model(torch.randn(3, 34, 27), torch.tensor([0.0, 500.0, 999.0]), cond, torch.zeros(3, 34, 28))
    assert pred.shape == (3, 34, 27)
    losses = model.training_loss(batch)
    assert set(losses) == {"loss", "x0_mse"} and losses["loss"].requires_grad and losses["loss"].dim() == 0


def test_training_loss_rejects_bad_batches():
    cfg = small_config()
    model = GestureDenoiser(cfg)
    batch = make_batch(cfg, 2)
    with pytest.raises(ModelError, match="'speaker'"):
        model.training_loss({k: v for k, v in batch.items() if k != "speaker"})
    with pytest.raises(ModelError, match=r"batch\['poses'\]"):
        model.training_loss({**batch, "poses": batch["poses"][:, :30]})
    with pytest.raises(ModelError, match=r"batch\['speaker'\]"):
        model.training_loss({**batch, "speaker": torch.tensor([0, 3])})


def test_a_few_training_steps_reduce_the_loss():
    torch.manual_seed(0)
    cfg = small_config(dropout=0.0)
    model = GestureDenoiser(cfg)
    batch = make_batch(cfg, 4)

    def eval_loss() -> float:  # the same timesteps, noise and condition drops every time
        torch.manual_seed(123)
        with torch.no_grad():
            return float(np.mean([model.training_loss(batch)["loss"].item() for _ in range(4)]))

    before = eval_loss()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(30):
        opt.zero_grad()
        model.training_loss(batch)["loss"].backward()
        opt.step()
    after = eval_loss()
    assert after < 0.7 * before, (before, after)


def test_a_briefly_trained_model_generates_motion_that_follows_the_audio(tmp_path):
    """End to end: train on windows whose forearm follows the loudness (:func:`make_batch`), save,
    load, sample 8 DDIM steps through the window engine on a 6 s utterance: the generated forearm
    follows the loudness of the new audio across window joins."""
    torch.manual_seed(0)
    cfg = small_config(dropout=0.0, p_uncond=0.0)
    model = GestureDenoiser(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for i in range(80):
        opt.zero_grad()
        model.training_loss(make_batch(cfg, 8, seed=i))["loss"].backward()
        opt.step()
    save_checkpoint(tmp_path / "ckpt", model, Vocab(f"w{i}" for i in range(cfg.n_words - 4)))
    gen = DiffusionGenerator(tmp_path / "ckpt", sampler=SamplerConfig(steps=8))

    t = np.arange(6 * 16000) / 16000
    loudness = 0.5 + 0.5 * np.sin(2 * np.pi * t * 15 / 17)  # the training envelope: period 17 frames
    poses = gen.generate(
        SpeechInput((0.5 * loudness * np.sin(2 * np.pi * 200 * t)).astype(np.float32)), Style(seed=1)
    )
    frames = np.arange(len(poses))
    assert len(poses) == 90  # 3 windows
    corr = np.corrcoef(poses[4:, 24], 0.5 + 0.5 * np.sin(2 * np.pi * frames[4:] / 17))[0, 1]
    assert corr > 0.8, corr
