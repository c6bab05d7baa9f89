"""The Trimodal model's training losses (Yoon et al. 2020), as in the authors' ``train_gan.py``.

All pose tensors are (B, T, 27) poses minus ``mean_dir_vec`` (TED axes); losses are scalars.

- :func:`huber_loss`: smooth L1 with beta 0.1 between generated and real poses, averaged over
  every value (the authors write it as ``smooth_l1(x / 0.1, y / 0.1) * 0.1``, which is the same).
- :func:`kl_loss`: KL divergence of the speaker style ``N(mu, exp(logvar))`` from ``N(0, I)``,
  ``-0.5 * mean(1 + logvar - mu^2 - exp(logvar))`` (a mean over batch *and* z dimensions).
- :func:`diversity_loss`: the authors' diversity regulariser. The generator runs twice on the
  same window with two style vectors ``z`` and ``z'`` (the second from a shuffled speaker of the
  batch and fresh noise); the loss is ``-mean_b(d_pose / (d_z + 1e-5))``, clamped at -1000, with
  ``d_pose`` the smooth L1 (beta 0.05) between the two outputs summed over frames and values and
  ``d_z`` the mean |z - z'|. Minimising it makes the output depend on the style. The second
  output and both z are constants (detached): only the first output is pushed away.
- :func:`generator_adversarial_loss` / :func:`discriminator_loss`: the non-saturating GAN losses
  on discriminator logits, ``-log D(fake)`` for the generator and
  ``-log D(real) - log(1 - D(fake))`` for the discriminator (the authors apply a sigmoid and add
  1e-8 inside the logs; binary cross-entropy on logits is the same loss without that fudge).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Smooth L1 transition point of the reconstruction loss (pose units).
HUBER_BETA = 0.1
#: Smooth L1 transition point of the pose difference in the diversity term.
DIVERSITY_BETA = 0.05
#: The diversity term is clamped from below at this value (authors: -1000).
DIVERSITY_CLAMP = -1000.0


def huber_loss(generated: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Smooth L1 (beta 0.1) between ``generated`` and ``real`` (B, T, 27), mean over all values."""
    return F.smooth_l1_loss(generated, real, beta=HUBER_BETA)


def kl_loss(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) for ``mu``, ``logvar`` (B, z_dim), as the authors average it."""
    return -0.5 * torch.mean(1.0 + logvar - mu.pow(2) - logvar.exp())


def diversity_loss(
    generated: torch.Tensor, other: torch.Tensor, z: torch.Tensor, other_z: torch.Tensor
) -> torch.Tensor:
    """The diversity regulariser (see the module docstring).

    ``generated`` (B, T, 27) carries the gradient; ``other`` (B, T, 27), ``z`` and ``other_z``
    (B, z_dim) are treated as constants.
    """
    pose_diff = F.smooth_l1_loss(generated, other.detach(), beta=DIVERSITY_BETA, reduction="none")
    pose_diff = pose_diff.sum(dim=(1, 2))  # (B,)
    z_diff = (z.detach() - other_z.detach()).abs().mean(dim=1)  # (B,)
    return torch.clamp(-(pose_diff / (z_diff + 1e-5)), min=DIVERSITY_CLAMP).mean()


def generator_adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss ``mean(-log sigmoid(D(fake)))`` from logits (B, 1)."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """``mean(-log sigmoid(D(real))) + mean(-log(1 - sigmoid(D(fake))))`` from logits (B, 1) each."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake
