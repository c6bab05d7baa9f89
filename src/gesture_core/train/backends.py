"""What the trainer runs per backend: the model, its optimizers, one training step, and saving.

A :class:`Task` owns one backend's model (the module saved as ``model.safetensors``), the modules
the process group wraps in ``DistributedDataParallel``, the optimizers and the step:

- :class:`TrimodalTask`: the authors' GAN training (``train_gan.py``): per step, first the
  discriminator (after the warm-up epochs) on real windows vs. windows generated without
  gradient, then the generator on ``500 x Huber + 0.1 x KL + 0.05 x diversity (+ 5 x GAN)``,
  see :mod:`.losses`. Adam with betas (0.5, 0.999) for both; the discriminator's learning rate is
  ``lr x discriminator_lr_scale``.
- :class:`DiffusionTask`: the diffusion denoiser's own ``training_loss(batch)``.

A batch is a dict of tensors from :class:`gesture_core.data.dataset.GestureWindows`: ``poses``
(B, 34, 27) unit bone directions, ``audio`` (B, 36266), ``text`` (B, 34) int64, ``speaker`` (B,)
int64. Every random draw (noise, dropout, shuffles) uses torch's global RNG of the process, which
the trainer seeds and saves, so a resumed run continues exactly.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..errors import ConfigError, ModelError
from ..vocab import PAD, Vocab
from .config import TrainConfig
from .discriminator import ConvDiscriminator
from .losses import discriminator_loss, diversity_loss, generator_adversarial_loss, huber_loss, kl_loss

log = logging.getLogger(__name__)


def seed_input(target: torch.Tensor, n_pre_poses: int) -> torch.Tensor:
    """The seed input ``pre_seq`` (B, T, 28) of normalised windows ``target`` (B, T, 27): the first
    ``n_pre_poses`` frames hold the pose and a constraint bit 1, the others are 0."""
    pre_seq = target.new_zeros(target.shape[0], target.shape[1], target.shape[2] + 1)
    pre_seq[:, :n_pre_poses, :-1] = target[:, :n_pre_poses]
    pre_seq[:, :n_pre_poses, -1] = 1.0
    return pre_seq


def tie_unseen_tokens(embedding: nn.Embedding, seen: set[int]) -> int:
    """Copy the PAD row of ``embedding`` into the rows of every token id not in ``seen``.

    Rows of tokens that never occurred in the training data keep their random initialisation
    (they never get a gradient); a word that maps to one at inference would feed noise into the
    model. Tied to PAD, it acts like "no word here", as in training. Returns how many rows were tied.
    """
    unseen = [i for i in range(embedding.num_embeddings) if i not in seen]
    with torch.no_grad():
        embedding.weight[unseen] = embedding.weight[PAD].clone()
    return len(unseen)


def _unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, DistributedDataParallel) else module


def _no_sync(module: nn.Module) -> contextlib.AbstractContextManager[Any]:
    """``module.no_sync()`` for a DDP module (gradients stay local), else a no-op context."""
    return module.no_sync() if isinstance(module, DistributedDataParallel) else contextlib.nullcontext()


class Task(ABC):
    """One backend's training: see the module docstring.

    ``model_config``: the backend's model config dict (``n_words``, ``n_speakers`` and the
    overrides of ``cfg.model``); ``seen_tokens``: token ids that occur in the training data.
    """

    backend: str

    def __init__(self, cfg: TrainConfig, device: torch.device):
        self.cfg = cfg
        self.device = device
        self.model: nn.Module  # the module saved as model.safetensors
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        #: Modules besides the model whose state goes into the training state (the discriminator).
        self.extra_modules: dict[str, nn.Module] = {}

    @staticmethod
    @abstractmethod
    def embedding(model: nn.Module) -> nn.Embedding:
        """The word embedding of a model of this backend."""

    @abstractmethod
    def wrap(self, wrap_fn: Any) -> None:
        """Wrap the trained modules with ``wrap_fn`` (``DistributedDataParallel`` under torchrun)."""

    @abstractmethod
    def step(self, batch: dict[str, torch.Tensor], epoch: int) -> dict[str, float]:
        """One optimisation step on ``batch`` in (0-based) ``epoch``; returns the loss values."""

    @abstractmethod
    def _save(self, directory: Path, model: nn.Module, vocab: Vocab, provenance: dict[str, Any]) -> None:
        """Write ``model`` in the backend's checkpoint format."""

    @abstractmethod
    def _load(self, directory: Path) -> nn.Module:
        """The model of a checkpoint directory written by :meth:`_save`."""

    def modules(self) -> Iterator[nn.Module]:
        yield self.model
        yield from self.extra_modules.values()

    def train(self) -> None:
        for module in self.modules():
            module.train()

    def save_model(
        self, directory: Path, vocab: Vocab, seen_tokens: set[int], provenance: dict[str, Any]
    ) -> None:
        """Write the model's checkpoint (config.json, model.safetensors, vocab.json) into ``directory``.

        The saved copy has the rows of never-seen tokens tied to PAD (:func:`tie_unseen_tokens`).
        """
        export = copy.deepcopy(self.model).cpu().eval()
        tied = tie_unseen_tokens(self.embedding(export), seen_tokens)
        self._save(directory, export, vocab, {**provenance, "token_rows_tied_to_pad": tied})

    def load_model_weights(self, directory: Path) -> None:
        """Load the weights of the checkpoint in ``directory`` into the model being trained."""
        loaded = self._load(directory)
        try:
            self.model.load_state_dict(loaded.state_dict(), strict=True)
        except RuntimeError as exc:
            raise ModelError(f"{directory}: checkpoint does not match the configured model: {exc}") from exc

    def _adam(self, params: Any, lr: float) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=lr, betas=self.cfg.betas())


# ------------------------------------------------------------------------------ Trimodal


class _StyledGenerator(nn.Module):
    """The Trimodal generator, also returning its style: ``(poses, z, mu, logvar)``.

    ``z = mu + eps * exp(logvar / 2)`` is computed exactly as inside ``PoseGenerator.forward``, so
    it is the style that produced ``poses``.
    """

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(
        self,
        pre_seq: torch.Tensor,
        text: torch.Tensor,
        audio: torch.Tensor,
        weights: torch.Tensor,
        eps: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.generator.style(weights)
        z = mu + eps * torch.exp(0.5 * logvar)
        return self.generator(pre_seq, text, audio, weights, eps), z, mu, logvar


class TrimodalTask(Task):
    """GAN training of the Trimodal generator (see the module docstring)."""

    backend = "trimodal"

    def __init__(
        self, cfg: TrainConfig, device: torch.device, model_config: dict[str, Any], speakers: list[str | None]
    ):
        super().__init__(cfg, device)
        from ..models.trimodal.config import TrimodalConfig
        from ..models.trimodal.model import PoseGenerator

        self.config = TrimodalConfig.from_dict(model_config)
        self.speakers = speakers
        self.model = PoseGenerator(self.config).to(device)
        self.discriminator = ConvDiscriminator(self.config.n_poses).to(device)
        self.extra_modules = {"discriminator": self.discriminator}
        self.net: nn.Module = _StyledGenerator(self.model)
        self.disc: nn.Module = self.discriminator
        self.mean = torch.tensor(self.config.mean_dir_vec, dtype=torch.float32, device=device)
        self.optimizers = {
            "generator": self._adam(self.model.parameters(), cfg.lr),
            "discriminator": self._adam(self.discriminator.parameters(), cfg.lr * cfg.discriminator_lr_scale),
        }

    @staticmethod
    def embedding(model: nn.Module) -> nn.Embedding:
        return model.text_encoder.embedding

    def wrap(self, wrap_fn: Any) -> None:
        self.net = wrap_fn(self.net)
        self.disc = wrap_fn(self.disc)

    def _eps(self, batch: int) -> torch.Tensor:
        return torch.randn(batch, self.config.z_dim, device=self.device)

    def step(self, batch: dict[str, torch.Tensor], epoch: int) -> dict[str, float]:
        cfg, w = self.cfg, self.cfg.loss
        target = batch["poses"] - self.mean  # (B, T, 27): what the model predicts
        b = target.shape[0]
        pre_seq = seed_input(target, self.config.n_pre_poses)
        text, audio = batch["text"], batch["audio"]
        weights = F.one_hot(batch["speaker"], self.config.n_speakers).float()
        adversarial = w.gan > 0 and epoch >= cfg.gan_warmup_epochs
        losses: dict[str, float] = {}

        if adversarial:  # discriminator: real windows vs. generated ones (no generator gradient)
            with torch.no_grad():
                fake = self.net(pre_seq, text, audio, weights, self._eps(b))[0]
            d_loss = discriminator_loss(self.disc(target), self.disc(fake))
            self.optimizers["discriminator"].zero_grad(set_to_none=True)
            d_loss.backward()
            self.optimizers["discriminator"].step()
            losses["dis"] = d_loss.item()

        out, z, mu, logvar = self.net(pre_seq, text, audio, weights, self._eps(b))
        huber = huber_loss(out, target)
        total = w.huber * huber
        losses["huber"] = huber.item()
        if w.kl > 0:
            kl = kl_loss(mu, logvar)
            total = total + w.kl * kl
            losses["kl"] = kl.item()
        if w.diversity > 0:  # the same windows with another speaker's style and fresh noise
            perm = torch.randperm(b).to(self.device)
            with torch.no_grad():
                other, other_z, _, _ = self.net(pre_seq, text, audio, weights[perm], self._eps(b))
            div = diversity_loss(out, other, z, other_z)
            total = total + w.diversity * div
            losses["diversity"] = div.item()
        if adversarial:
            with _no_sync(self.disc):  # only the generator's gradient matters here
                gen = generator_adversarial_loss(self.disc(out))
            total = total + w.gan * gen
            losses["gen"] = gen.item()
        self.optimizers["generator"].zero_grad(set_to_none=True)
        total.backward()
        self.optimizers["generator"].step()
        losses["loss"] = total.item()
        return losses

    def _save(self, directory: Path, model: nn.Module, vocab: Vocab, provenance: dict[str, Any]) -> None:
        from ..models.trimodal.checkpoint import save_checkpoint

        save_checkpoint(directory, model, vocab, self.speakers, provenance)

    def _load(self, directory: Path) -> nn.Module:
        from ..models.trimodal.checkpoint import load_model

        return load_model(directory)[0]


# ------------------------------------------------------------------------------ diffusion


class _DiffusionLoss(nn.Module):
    """The denoiser's ``training_loss`` as a module call (so DDP sees a forward)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(
        self, poses: torch.Tensor, audio: torch.Tensor, text: torch.Tensor, speaker: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        return self.model.training_loss({"poses": poses, "audio": audio, "text": text, "speaker": speaker})


class DiffusionTask(Task):
    """Training of the diffusion denoiser on its own loss."""

    backend = "diffusion"

    def __init__(
        self, cfg: TrainConfig, device: torch.device, model_config: dict[str, Any], speakers: list[str | None]
    ):
        super().__init__(cfg, device)
        from ..models.diffusion.config import DiffusionConfig
        from ..models.diffusion.model import GestureDenoiser

        self.config = DiffusionConfig.from_dict(model_config)
        self.model = GestureDenoiser(self.config).to(device)
        self.net: nn.Module = _DiffusionLoss(self.model)
        self.mean = torch.tensor(self.config.mean_dir_vec, dtype=torch.float32, device=device)
        self.optimizers = {"generator": self._adam(self.model.parameters(), cfg.lr)}

    @staticmethod
    def embedding(model: nn.Module) -> nn.Embedding:
        return model.condition.text.embedding

    def wrap(self, wrap_fn: Any) -> None:
        self.net = wrap_fn(self.net)

    def step(self, batch: dict[str, torch.Tensor], epoch: int) -> dict[str, float]:
        out = self.net(batch["poses"] - self.mean, batch["audio"], batch["text"], batch["speaker"])
        self.optimizers["generator"].zero_grad(set_to_none=True)
        out["loss"].backward()
        self.optimizers["generator"].step()
        return {"loss": out["loss"].item(), "x0_mse": out["x0_mse"].item()}

    def _save(self, directory: Path, model: nn.Module, vocab: Vocab, provenance: dict[str, Any]) -> None:
        from ..models.diffusion.checkpoint import save_checkpoint

        save_checkpoint(directory, model, vocab, provenance)

    def _load(self, directory: Path) -> nn.Module:
        from ..models.diffusion.checkpoint import load_model

        return load_model(directory)[0]


def make_task(
    cfg: TrainConfig, device: torch.device, model_config: dict[str, Any], speakers: list[str | None]
) -> Task:
    """The :class:`Task` of ``cfg.backend``; a bad model config raises :class:`ConfigError` naming the key."""
    tasks = {"trimodal": TrimodalTask, "diffusion": DiffusionTask}
    if cfg.backend not in tasks:
        raise ConfigError(f"train.backend: {cfg.backend!r} is not one of {list(tasks)}")
    return tasks[cfg.backend](cfg, device, model_config, speakers)
