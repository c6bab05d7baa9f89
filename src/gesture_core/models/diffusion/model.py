"""The diffusion gesture denoiser, a PyTorch module (about 2.5 M parameters plus the word table).

It denoises one window of ``n_poses`` (34) frames of scaled poses
``x = (pose - mean_dir_vec) / pose_scale`` (TED axes, see :mod:`gesture_core.skeleton`):

- **Condition encoder** (run once per window, :meth:`GestureDenoiser.encode`):

  - audio: the Trimodal model's strided-convolution raw-waveform encoder (reused from
    :mod:`..trimodal.model`), 36266 samples of 16 kHz audio -> (B, 34, audio_dim); raw audio
    keeps the model free of a feature pipeline, and the ONNX graph takes the waveform as is;
  - words: a word id per frame (as in the Trimodal model) -> embedding -> two non-causal 1-D
    convolutions (kernel 3, dilations 1 and 2: about +-1/5 s of context) -> (B, 34, text_dim);
  - speaker: a mixture of speaker embedding rows (one-hot or average), the same on every frame;
  - a linear layer mixes them into ``cond`` (B, 34, cond_dim). ``uncond``, the learned
    "no audio, words, speaker" vector on every frame, is what classifier-free guidance contrasts
    with; training replaces ``cond`` by it with probability ``p_uncond``.

- **Denoiser** (run every sampling step, :meth:`GestureDenoiser.forward`): per frame
  ``[x_t, seed pose + constraint bit, cond]`` -> linear -> + learned position embedding -> ``n_layers``
  transformer blocks over the 34 frames, each modulated by the diffusion timestep (adaLN-Zero, as
  in DiT: Peebles & Xie 2023; the timestep has a sinusoidal embedding) -> linear -> (B, 34, 27),
  the ``config.prediction`` target (``"v"`` by default, see :mod:`.schedule`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ModelError
from ..trimodal.model import WavEncoder
from .config import DiffusionConfig
from .schedule import add_noise, cosine_alpha_bar, split_prediction, training_target


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding (Vaswani et al. 2017) of timesteps t (B,) float -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


class TextEncoder(nn.Module):
    """Word ids (B, T) int64 -> text features (B, T, out_dim), non-causal over the window."""

    def __init__(self, n_words: int, word_dim: int, out_dim: int):
        super().__init__()
        self.embedding = nn.Embedding(n_words, word_dim)
        self.conv1 = nn.Conv1d(word_dim, 2 * out_dim, 3, padding=1)
        self.conv2 = nn.Conv1d(2 * out_dim, out_dim, 3, padding=2, dilation=2)

    def forward(self, text_ids: torch.Tensor) -> torch.Tensor:
        x = self.embedding(text_ids).transpose(1, 2)  # convolve over time: (B, word_dim, T)
        return self.conv2(F.gelu(self.conv1(x))).transpose(1, 2)


class ConditionEncoder(nn.Module):
    """Audio, words and speaker of a window -> per-frame condition (B, n_poses, cond_dim)."""

    def __init__(self, cfg: DiffusionConfig):
        super().__init__()
        self.n_poses = cfg.n_poses
        self.audio = WavEncoder(cfg.audio_dim)
        self.text = TextEncoder(cfg.n_words, cfg.word_dim, cfg.text_dim)
        self.speaker = nn.Embedding(cfg.n_speakers, cfg.speaker_dim)
        self.proj = nn.Linear(cfg.audio_dim + cfg.text_dim + cfg.speaker_dim, cfg.cond_dim)
        self.null = nn.Parameter(torch.zeros(cfg.cond_dim))

    def forward(
        self, audio: torch.Tensor, text_ids: torch.Tensor, speaker_weights: torch.Tensor
    ) -> torch.Tensor:
        """audio (B, samples), text_ids (B, n_poses), speaker_weights (B, n_speakers) -> (B, n_poses, cond_dim)."""
        a = self.audio(audio)  # (B, frames, audio_dim); 34 frames for 36266 samples
        if a.shape[1] != self.n_poses:  # other window sizes: resample the audio features onto the frames
            a = F.interpolate(a.transpose(1, 2), size=self.n_poses, mode="linear").transpose(1, 2)
        s = (speaker_weights @ self.speaker.weight)[:, None].expand(-1, self.n_poses, -1)
        return self.proj(torch.cat([a, self.text(text_ids), s], dim=2))

    def unconditional(self, like: torch.Tensor) -> torch.Tensor:
        """The learned "no condition" features, shaped like ``like`` (B, n_poses, cond_dim)."""
        return self.null.expand_as(like)


def _modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN: x (B, T, C) normalised, shift/scale (B, C) from the timestep."""
    return x * (1 + scale[:, None]) + shift[:, None]


class DenoiserBlock(nn.Module):
    """Pre-norm transformer block (self-attention over frames + MLP) with adaLN-Zero timestep modulation."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float):
        super().__init__()
        self.n_heads = n_heads
        self.dropout = dropout
        self.norm1 = nn.LayerNorm(d_model, elementwise_affine=False)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.attn_out = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model, elementwise_affine=False)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, d_ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_ff, d_model)
        )
        self.modulation = nn.Linear(d_model, 6 * d_model)  # shift, scale, gate for each sub-layer
        nn.init.zeros_(self.modulation.weight)  # adaLN-Zero: every block starts as the identity
        nn.init.zeros_(self.modulation.bias)

    def forward(self, h: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        """h (B, T, d_model), temb (B, d_model) -> (B, T, d_model)."""
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(F.silu(temb)).chunk(6, dim=1)
        b, t, c = h.shape
        qkv = self.qkv(_modulate(self.norm1(h), shift1, scale1))
        q, k, v = qkv.view(b, t, 3, self.n_heads, c // self.n_heads).permute(
            2, 0, 3, 1, 4
        )  # 3 x (B, H, T, C/H)
        a = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        h = h + gate1[:, None] * self.attn_out(a.transpose(1, 2).reshape(b, t, c))
        return h + gate2[:, None] * self.mlp(_modulate(self.norm2(h), shift2, scale2))


class GestureDenoiser(nn.Module):
    """The diffusion model: condition encoder + denoiser; see the module docstring."""

    def __init__(self, cfg: DiffusionConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.condition = ConditionEncoder(cfg)
        self.in_proj = nn.Linear(cfg.pose_dim + (cfg.pose_dim + 1) + cfg.cond_dim, d)
        self.pos = nn.Parameter(0.02 * torch.randn(cfg.n_poses, d))
        self.time_mlp = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        self.blocks = nn.ModuleList(
            DenoiserBlock(d, cfg.n_heads, cfg.d_ff, cfg.dropout) for _ in range(cfg.n_layers)
        )
        self.norm_out = nn.LayerNorm(d, elementwise_affine=False)
        self.out_modulation = nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, cfg.pose_dim)
        for layer in (self.out_modulation, self.out):  # the untrained model predicts 0
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        alpha_bar = torch.tensor(cosine_alpha_bar(cfg.n_train_steps), dtype=torch.float32)
        self.register_buffer("alpha_bar", alpha_bar, persistent=False)

    def encode(
        self, audio: torch.Tensor, text_ids: torch.Tensor, speaker_weights: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Condition features ``(cond, uncond)``, each (B, n_poses, cond_dim); see :class:`ConditionEncoder`."""
        cond = self.condition(audio, text_ids, speaker_weights)
        return cond, self.condition.unconditional(cond)

    def forward(
        self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor, pre_seq: torch.Tensor
    ) -> torch.Tensor:
        """One denoising evaluation.

        - x_t: (B, n_poses, 27) noisy scaled poses ``(pose - mean_dir_vec) / pose_scale``.
        - t: (B,) float diffusion timesteps in [0, n_train_steps).
        - cond: (B, n_poses, cond_dim) from :meth:`encode` (``cond`` or ``uncond``).
        - pre_seq: (B, n_poses, 28) seed input as built by the window engine: frames
          0..n_pre_poses-1 hold the seed pose minus ``mean_dir_vec`` (NOT scaled) and a constraint
          bit 1; other frames 0.

        Returns (B, n_poses, 27): the ``config.prediction`` target in scaled pose space.
        """
        seed = torch.cat([pre_seq[..., :-1] / self.cfg.pose_scale, pre_seq[..., -1:]], dim=2)
        h = self.in_proj(torch.cat([x_t, seed, cond], dim=2)) + self.pos
        temb = self.time_mlp(timestep_embedding(t, self.cfg.d_model))
        for block in self.blocks:
            h = block(h, temb)
        shift, scale = self.out_modulation(F.silu(temb)).chunk(2, dim=1)
        return self.out(_modulate(self.norm_out(h), shift, scale))

    def training_loss(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Diffusion loss of a batch of training windows.

        batch: ``"poses"`` (B, n_poses, 27) pose minus ``mean_dir_vec`` (its first ``n_pre_poses``
        frames are the seed), ``"audio"`` (B, audio_samples) float, ``"text"`` (B, n_poses) int64
        word ids, ``"speaker"`` (B,) int64 speaker rows.

        Returns ``{"loss": ..., "x0_mse": ...}``: ``loss`` (to minimise) is the mean squared error
        of the prediction target at a uniformly drawn timestep, with audio, words and speaker
        replaced by the "no condition" features with probability ``p_uncond``; ``x0_mse``
        (detached, for logging) is the error of the implied clean window, in scaled pose units.
        """
        for key in ("poses", "audio", "text", "speaker"):
            if key not in batch:
                raise ModelError(f"training batch lacks key {key!r}")
        cfg = self.cfg
        poses = batch["poses"].float()
        if poses.dim() != 3 or poses.shape[1:] != (cfg.n_poses, cfg.pose_dim):
            raise ModelError(
                f"batch['poses'] must be (B, {cfg.n_poses}, {cfg.pose_dim}), got {tuple(poses.shape)}"
            )
        speaker = batch["speaker"].long()
        if speaker.numel() and not 0 <= int(speaker.min()) <= int(speaker.max()) < cfg.n_speakers:
            raise ModelError(f"batch['speaker'] ids must be in 0..{cfg.n_speakers - 1}")
        b, device = poses.shape[0], poses.device

        pre_seq = torch.zeros(b, cfg.n_poses, cfg.pose_dim + 1, device=device)
        pre_seq[:, : cfg.n_pre_poses, :-1] = poses[:, : cfg.n_pre_poses]
        pre_seq[:, : cfg.n_pre_poses, -1] = 1.0
        weights = F.one_hot(speaker, cfg.n_speakers).float()
        cond, uncond = self.encode(batch["audio"].float(), batch["text"].long(), weights)
        drop = torch.rand(b, 1, 1, device=device) < cfg.p_uncond
        cond = torch.where(drop, uncond, cond)

        x0 = poses / cfg.pose_scale
        t = torch.randint(0, cfg.n_train_steps, (b,), device=device)
        ab = self.alpha_bar[t][:, None, None]
        eps = torch.randn_like(x0)
        x_t = add_noise(x0, eps, ab)
        pred = self(x_t, t.float(), cond, pre_seq)
        loss = F.mse_loss(pred, training_target(x0, eps, ab, cfg.prediction))
        x0_hat, _ = split_prediction(pred.detach(), x_t, ab, cfg.prediction)
        return {"loss": loss, "x0_mse": F.mse_loss(x0_hat, x0)}


def n_parameters(model: nn.Module, include_embedding: bool = True) -> int:
    """Number of trainable values, optionally without the word embedding table."""
    total = sum(p.numel() for p in model.parameters())
    if not include_embedding and isinstance(model, GestureDenoiser):
        total -= model.condition.text.embedding.weight.numel()
    return total
