"""Training: config validation, the Trimodal losses, loss reduction on a tiny clip, exact resume,
checkpoints that the generators load, the diffusion backend, and DDP with two CPU processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from synthetic_clips import write_dataset

from gesture_core.errors import ConfigError
from gesture_core.generation.base import SpeechInput, Style
from gesture_core.train import losses
from gesture_core.train.config import TrainConfig
from gesture_core.train.discriminator import ConvDiscriminator
from gesture_core.train.state import latest_checkpoint, load_state
from gesture_core.train.trainer import NO_WORDS, Trainer, main
from gesture_core.vocab import Vocab

TINY = ["model.hidden_size=16", "model.n_layers=2", "model.wordembed_dim=8", "threads=1"]
TINY_DIFFUSION = ["model.d_model=16", "model.n_layers=1", "model.n_heads=2", "model.d_ff=32", "model.word_dim=8",
                  "model.cond_dim=8", "model.audio_dim=8", "model.text_dim=8", "model.speaker_dim=4", "threads=1"]  # fmt: skip


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("data") / "clips", clips=2, seconds=6.0, speakers=2)


def train(data: Path, out: Path, *overrides: str, resume: bool = False, model: list[str] = TINY) -> int:
    if resume:
        return main(["--out", str(out), "--resume", *overrides])
    return main(["--data", str(data), "--out", str(out), *model, *overrides])


def loss_log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "losses.jsonl").read_text().splitlines()]


# ------------------------------------------------------------------------------ config


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["lr=0"], "train.lr"),
        (["batch_size=0"], "train.batch_size"),
        (["backend=gan"], "train.backend"),
        (["loss.gan=-1"], "train.loss.gan"),
        (["loss.foo=1"], "train.loss.foo"),
        (["adam_betas=[0.5]"], "train.adam_betas"),
        (["device=gpu"], "train.device"),
        (["epochs=1.5"], "train.epochs"),
        (["nonsense=3"], "train.nonsense"),
        (["model.n_words=10"], "train.model.n_words"),
        (["lr"], "lr"),
    ],
)
def test_config_errors_name_the_key(overrides, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        TrainConfig(data=["d"], out="o").with_overrides(overrides)


def test_overrides_reach_nested_fields_and_parse_json():
    cfg = TrainConfig().with_overrides(
        ["backend=diffusion", "model.d_model=64", "loss.kl=0.5", "adam_betas=[0.9,0.99]"]
    )
    assert (cfg.backend, cfg.model, cfg.loss.kl, cfg.betas()) == (
        "diffusion",
        {"d_model": 64},
        0.5,
        (0.9, 0.99),
    )
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_bad_model_key_is_reported_with_the_model_prefix(data_dir, tmp_path):
    cfg = TrainConfig(data=[str(data_dir)], out=str(tmp_path), model={"hidden_sise": 8})
    with pytest.raises(ConfigError, match=r"trimodal\.hidden_sise: unknown key"):
        Trainer(cfg)


def test_command_line_errors_exit_with_1(data_dir, tmp_path):
    assert main(["--data", str(data_dir), "--out", str(tmp_path / "a"), "lr=-1"]) == 1
    assert main(["--out", str(tmp_path / "empty"), "--resume"]) == 1


# ------------------------------------------------------------------------------ losses


def test_losses_match_the_authors_formulas():
    g = torch.Generator().manual_seed(0)
    out, other = torch.randn(4, 34, 27, generator=g), torch.randn(4, 34, 27, generator=g)
    z, other_z = torch.randn(4, 16, generator=g), torch.randn(4, 16, generator=g)
    # the authors' Huber: smooth_l1(x / 0.1, y / 0.1) * 0.1 (PyTorch's default beta 1)
    want = torch.nn.functional.smooth_l1_loss(out / 0.1, other / 0.1) * 0.1
    torch.testing.assert_close(losses.huber_loss(out, other), want)
    # the authors' diversity term, written out
    pose_l1 = (torch.nn.functional.smooth_l1_loss(out / 0.05, other / 0.05, reduction="none") * 0.05).sum(
        dim=(1, 2)
    )
    want = torch.clamp(-(pose_l1 / ((z - other_z).abs().mean(1) + 1e-5)), min=-1000).mean()
    torch.testing.assert_close(losses.diversity_loss(out, other, z, other_z), want)
    assert losses.diversity_loss(out, out, z, other_z).item() == 0.0
    # KL: 0 at the prior, positive elsewhere
    assert losses.kl_loss(torch.zeros(3, 16), torch.zeros(3, 16)).item() == 0.0
    assert losses.kl_loss(z, other_z).item() > 0
    # GAN losses on logits = -log sigmoid forms
    real, fake = torch.randn(5, 1, generator=g), torch.randn(5, 1, generator=g)
    torch.testing.assert_close(
        losses.generator_adversarial_loss(fake), -torch.log(torch.sigmoid(fake)).mean()
    )
    want = -(torch.log(torch.sigmoid(real)) + torch.log(1 - torch.sigmoid(fake))).mean()
    torch.testing.assert_close(losses.discriminator_loss(real, fake), want)


def test_diversity_gradient_only_reaches_the_first_output():
    out = torch.randn(2, 34, 27, requires_grad=True)
    other = (out.detach() + 0.01 * torch.randn(2, 34, 27)).requires_grad_()  # small: not clamped at -1000
    losses.diversity_loss(out, other, torch.zeros(2, 16), torch.ones(2, 16)).backward()
    assert out.grad is not None and out.grad.abs().sum() > 0 and other.grad is None


def test_discriminator_scores_each_window():
    disc = ConvDiscriminator(34)
    assert disc(torch.randn(3, 34, 27)).shape == (3, 1)


# ------------------------------------------------------------------------------ training runs


def test_a_few_steps_reduce_the_loss(data_dir, tmp_path):
    out = tmp_path / "run"
    assert train(data_dir, out, "batch_size=8", "max_steps=40", "lr=2e-3", "gan_warmup_epochs=100") == 0
    huber = [row["huber"] for row in loss_log(out)]
    assert len(huber) == 40
    assert np.mean(huber[-5:]) < 0.7 * np.mean(huber[:5])


def test_resume_continues_exactly(data_dir, tmp_path):
    common = ["batch_size=8", "gan_warmup_epochs=0", "checkpoint_every=5"]  # GAN from the first step
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert train(data_dir, whole, *common, "max_steps=10") == 0
    assert train(data_dir, parts, *common, "max_steps=5") == 0
    assert train(data_dir, parts, "max_steps=10", resume=True) == 0
    assert loss_log(parts) == loss_log(whole)  # every loss of every step, including after the resume
    a, b = latest_checkpoint(whole), latest_checkpoint(parts)
    assert a.name == b.name == "step_0000010"
    for name in ("model.safetensors", "training_state.safetensors"):
        ta, tb = load_file(a / name), load_file(b / name)
        assert ta.keys() == tb.keys()
        for key in ta:
            torch.testing.assert_close(ta[key], tb[key], rtol=0, atol=0, msg=f"{name} {key}")


def test_resume_refuses_to_change_the_model(data_dir, tmp_path):
    out = tmp_path / "run"
    assert train(data_dir, out, "batch_size=8", "max_steps=2") == 0
    assert train(data_dir, out, "max_steps=4", "model.hidden_size=32", resume=True) == 1
    assert train(data_dir, out, "batch_size=8", "max_steps=2") == 1  # a fresh run into a used directory


def test_checkpoint_loads_into_the_generator_and_runs(data_dir, tmp_path):
    from gesture_core.models.trimodal.generator import TrimodalGenerator

    out = tmp_path / "run"
    assert train(data_dir, out, "batch_size=8", "max_steps=3") == 0
    ckpt = latest_checkpoint(out)
    state = load_state(ckpt)
    assert (state.step, state.world_size) == (3, 1)
    gen = TrimodalGenerator(ckpt)
    assert gen.meta.speakers == [None, "spk0", "spk1"]
    assert gen.meta.provenance["step"] == 3 and gen.meta.provenance["text"] == "words"
    assert set(Vocab.load(ckpt / "vocab.json").words[4:]) == {"hello", "robot", "gesture", "world"}
    audio = 0.1 * np.random.default_rng(0).standard_normal(16000 * 3).astype(np.float32)
    poses = gen.generate(SpeechInput(audio), Style(seed=1))
    assert poses.shape == (45, 27)
    np.testing.assert_allclose(np.linalg.norm(poses.reshape(-1, 9, 3), axis=-1), 1.0, atol=1e-6)


def test_audio_only_data_gets_a_placeholder_vocabulary_tied_to_pad(tmp_path):
    from gesture_core.models.trimodal.checkpoint import load_model

    data = write_dataset(tmp_path / "clips", clips=1, seconds=4.0, words=False)
    out = tmp_path / "run"
    assert train(data, out, "batch_size=8", "max_steps=2") == 0
    model, meta = load_model(latest_checkpoint(out))
    assert meta.vocab.words[4:] == [NO_WORDS]
    assert meta.provenance["text"].startswith("audio-only")
    table = model.text_encoder.embedding.weight
    torch.testing.assert_close(table, table[0].expand_as(table))  # any word acts like "no word"


def test_diffusion_backend_trains_and_its_checkpoint_generates(data_dir, tmp_path):
    from gesture_core.models.diffusion.generator import DiffusionGenerator

    out = tmp_path / "diffusion"
    assert train(data_dir, out, "backend=diffusion", "batch_size=8", "max_steps=4", model=TINY_DIFFUSION) == 0
    rows = loss_log(out)
    assert len(rows) == 4 and all(np.isfinite(r["loss"]) for r in rows)
    poses = DiffusionGenerator(latest_checkpoint(out)).generate(
        SpeechInput(np.zeros(16000, np.float32)), Style()
    )
    assert poses.shape == (15, 27) and np.all(np.isfinite(poses))


@pytest.mark.slow
def test_two_processes_with_ddp_resume_exactly(data_dir, tmp_path):
    """torchrun with 2 CPU processes (gloo): checkpoints hold both RNG states, and 2 + 2 steps
    after a resume give the same losses and weights as 4 steps in one go."""

    def torchrun(out: Path, *extra: str) -> None:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "-m", "gesture_core.train.trainer", "--out", str(out), *TINY, *extra]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                start_new_session=True)  # fmt: skip
        try:
            output, _ = proc.communicate(timeout=300)
        finally:  # torchrun's workers too, should it hang
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        assert proc.returncode == 0, output

    common = ["--data", str(data_dir), "batch_size=4", "gan_warmup_epochs=0", "checkpoint_every=2"]
    torchrun(tmp_path / "whole", *common, "max_steps=4")
    torchrun(tmp_path / "parts", *common, "max_steps=2")
    torchrun(tmp_path / "parts", "--resume", "max_steps=4")
    state = load_state(latest_checkpoint(tmp_path / "whole"))
    assert state.world_size == 2 and {"rng.cpu.rank0", "rng.cpu.rank1"} <= state.tensors.keys()
    assert loss_log(tmp_path / "parts") == loss_log(tmp_path / "whole")
    a = load_file(latest_checkpoint(tmp_path / "whole") / "model.safetensors")
    b = load_file(latest_checkpoint(tmp_path / "parts") / "model.safetensors")
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
