"""The Trimodal model's discriminator: the authors' ``ConvDiscriminator`` (``multimodal_context_net.py``).

It scores a window of poses (B, T, 27) (pose minus ``mean_dir_vec``) as real or generated:

- three 1-D convolutions over time (kernel 3, no padding; 27 -> 16 -> 8 -> 8 channels, batch
  norm and LeakyReLU between them): T frames -> T - 6 steps;
- a 4-layer bidirectional GRU (hidden 64, dropout 0.3) over those steps, the two directions'
  outputs summed;
- a linear layer to one value per step, then a linear layer over the T - 6 steps (28 for the
  34-frame window) to one logit per window.

Differences from the authors' module, on purpose: it returns the *logit* (the sigmoid is inside
the losses, :mod:`.losses`, which is numerically safer), and its LeakyReLUs have slope 0.2 where
the authors wrote ``nn.LeakyReLU(True)`` (slope 1: the identity, the same slip as in their
generator's output layer). No pretrained discriminator is loaded, so nothing depends on the names.
"""

from __future__ import annotations

import torch
from torch import nn

from .. import skeleton
from ..errors import ConfigError


class ConvDiscriminator(nn.Module):
    """Pose-window discriminator; ``n_poses``: frames per window (34), ``pose_dim``: values per pose (27)."""

    def __init__(self, n_poses: int = 34, pose_dim: int = skeleton.POSE_DIM, hidden_size: int = 64):
        super().__init__()
        if n_poses < 8:
            raise ConfigError(
                f"discriminator.n_poses: must be >= 8 (three kernel-3 convolutions), got {n_poses}"
            )
        self.hidden_size = hidden_size
        self.pre_conv = nn.Sequential(
            nn.Conv1d(pose_dim, 16, 3),
            nn.BatchNorm1d(16),
            nn.LeakyReLU(0.2),
            nn.Conv1d(16, 8, 3),
            nn.BatchNorm1d(8),
            nn.LeakyReLU(0.2),
            nn.Conv1d(8, 8, 3),
        )
        self.gru = nn.GRU(8, hidden_size, num_layers=4, bidirectional=True, dropout=0.3, batch_first=True)
        self.out = nn.Linear(hidden_size, 1)
        self.out2 = nn.Linear(n_poses - 6, 1)

    def forward(self, poses: torch.Tensor) -> torch.Tensor:
        """``poses`` (B, n_poses, 27) -> logits (B, 1); > 0 means "real"."""
        feat = self.pre_conv(poses.transpose(1, 2)).transpose(1, 2)  # (B, n_poses - 6, 8)
        h, _ = self.gru(feat)
        h = h[:, :, : self.hidden_size] + h[:, :, self.hidden_size :]  # sum both directions
        return self.out2(self.out(h).squeeze(2))
