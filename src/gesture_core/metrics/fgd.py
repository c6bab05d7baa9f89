"""Fréchet Gesture Distance (FGD): Fréchet distance between pose-autoencoder features of real and
generated motion (Yoon et al. 2020, the Trimodal paper).

The feature extractor is the authors' pose autoencoder for the TED direction-vector pose (a
directory with ``config.json`` + ``model.safetensors``, e.g. ``../shared/models/fgd_autoencoder_ted``;
the directory is always an argument, nothing is downloaded). Its input is a 60-frame window of
poses minus the autoencoder's own ``mean_dir_vec`` (from its ``config.json``, not the Trimodal
model's); the feature is the encoder's 32-value ``fc_mu`` output, run in eval mode.

torch is imported by this module: use it where the ``torch`` extra is installed.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import linalg
from torch import nn

from .. import skeleton
from ..errors import DataError, ModelError

log = logging.getLogger(__name__)

#: Frames per FGD window (15 fps), fixed by the autoencoder's ``out_net`` input (32 x 25 = 800).
FGD_WINDOW = 60
FEATURE_DIM = 32


def _conv_block(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Sequential:
    """Conv1d + BatchNorm1d + LeakyReLU(0.2), no padding (state-dict names ``.0``, ``.1``)."""
    return nn.Sequential(nn.Conv1d(c_in, c_out, kernel, stride), nn.BatchNorm1d(c_out), nn.LeakyReLU(0.2))


class PoseEncoder(nn.Module):
    """(B, 60, 27) normalised poses -> (B, 32) ``fc_mu`` features (and ``fc_logvar``)."""

    def __init__(self, pose_dim: int = skeleton.POSE_DIM):
        super().__init__()
        # time: 60 -> 58 -> 56 -> 27 -> 25 steps
        self.net = nn.Sequential(
            _conv_block(pose_dim, 32, 3),
            _conv_block(32, 64, 3),
            _conv_block(64, 64, 4, stride=2),
            nn.Conv1d(64, 32, 3),
        )
        # the authors' nn.LeakyReLU(True) has negative slope 1.0: the identity
        self.out_net = nn.Sequential(
            nn.Linear(32 * 25, 256),
            nn.BatchNorm1d(256),
            nn.LeakyReLU(1.0),
            nn.Linear(256, 128),
            nn.BatchNorm1d(128),
            nn.LeakyReLU(1.0),
            nn.Linear(128, FEATURE_DIM),
        )
        self.fc_mu = nn.Linear(FEATURE_DIM, FEATURE_DIM)
        self.fc_logvar = nn.Linear(FEATURE_DIM, FEATURE_DIM)

    def forward(self, poses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``poses`` (B, 60, 27) -> (mu, logvar), each (B, 32)."""
        h = self.out_net(self.net(poses.transpose(1, 2)).flatten(1))
        return self.fc_mu(h), self.fc_logvar(h)


class PoseDecoder(nn.Module):
    """(B, 32) features -> (B, 60, 27) normalised poses."""

    def __init__(self, pose_dim: int = skeleton.POSE_DIM):
        super().__init__()
        self.pre_net = nn.Sequential(
            nn.Linear(FEATURE_DIM, 128), nn.BatchNorm1d(128), nn.LeakyReLU(1.0), nn.Linear(128, 240)
        )
        # time: (4 channels x 60) -> 62 -> 64 -> 62 -> 60
        self.net = nn.Sequential(
            nn.ConvTranspose1d(4, 32, 3),
            nn.BatchNorm1d(32),
            nn.LeakyReLU(0.2),
            nn.ConvTranspose1d(32, 32, 3),
            nn.BatchNorm1d(32),
            nn.LeakyReLU(0.2),
            nn.Conv1d(32, 32, 3),
            nn.Conv1d(32, pose_dim, 3),
        )

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.net(self.pre_net(feat).view(len(feat), 4, -1)).transpose(1, 2)


class PoseAutoencoder(nn.Module):
    """The FGD autoencoder; state-dict keys ``pose_encoder.*`` and ``decoder.*`` as distributed."""

    def __init__(self, pose_dim: int = skeleton.POSE_DIM):
        super().__init__()
        self.pose_encoder = PoseEncoder(pose_dim)
        self.decoder = PoseDecoder(pose_dim)

    def forward(self, poses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``poses`` (B, 60, 27) normalised -> (reconstruction (B, 60, 27), features (B, 32))."""
        mu, _ = self.pose_encoder(poses)
        return self.decoder(mu), mu


@dataclass
class FGDExtractor:
    """The loaded autoencoder (eval mode) with the mean pose its inputs are centred on."""

    model: PoseAutoencoder
    mean_dir_vec: np.ndarray  # (27,)

    def _normalised(self, poses: np.ndarray) -> torch.Tensor:
        poses = np.asarray(poses, dtype=np.float32)
        if poses.ndim != 3 or poses.shape[1:] != (FGD_WINDOW, skeleton.POSE_DIM):
            raise DataError(
                f"FGD windows: shape {poses.shape}, expected (B, {FGD_WINDOW}, {skeleton.POSE_DIM})"
            )
        if not np.all(np.isfinite(poses)):
            raise DataError("FGD windows: contain NaN or inf")
        return torch.from_numpy(poses - self.mean_dir_vec.astype(np.float32))

    @torch.no_grad()
    def features(self, windows: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """``windows`` (B, 60, 27) unit-direction poses -> (B, 32) float64 ``fc_mu`` features."""
        x = self._normalised(windows)
        out = [self.model.pose_encoder(x[i : i + batch_size])[0] for i in range(0, len(x), batch_size)]
        return torch.cat(out).double().numpy() if out else np.zeros((0, FEATURE_DIM))

    @torch.no_grad()
    def reconstruct(self, windows: np.ndarray) -> np.ndarray:
        """``windows`` (B, 60, 27) -> the autoencoder's reconstruction (B, 60, 27), mean added back."""
        recon, _ = self.model(self._normalised(windows))
        return recon.numpy() + self.mean_dir_vec


def load_fgd_extractor(directory: str | Path) -> FGDExtractor:
    """Load the FGD autoencoder from ``directory`` (``config.json`` + ``model.safetensors``), strictly.

    Raises :class:`ModelError` naming the file and key when the directory does not hold it.
    """
    from safetensors.torch import load_file

    directory = Path(directory)
    config_path, weights_path = directory / "config.json", directory / "model.safetensors"
    for path in (config_path, weights_path):
        if not path.is_file():
            raise ModelError(f"FGD autoencoder: {path} not found")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        mean = np.asarray(config["training_args"]["mean_dir_vec"], dtype=np.float64).ravel()
        pose_dim = int(config.get("pose_dim", skeleton.POSE_DIM))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{config_path}: needs training_args.mean_dir_vec (27 numbers): {exc!r}") from None
    if pose_dim != skeleton.POSE_DIM or mean.shape != (skeleton.POSE_DIM,):
        raise ModelError(
            f"{config_path}: pose_dim {pose_dim} / mean_dir_vec of {mean.size} values, expected 27"
        )
    model = PoseAutoencoder(pose_dim)
    try:
        model.load_state_dict(load_file(weights_path), strict=True)
    except RuntimeError as exc:  # missing/unexpected keys or shape mismatches
        raise ModelError(f"{weights_path}: does not match the FGD autoencoder: {exc}") from None
    model.eval()
    log.info("loaded FGD autoencoder from %s", directory)
    return FGDExtractor(model, mean)


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) (unbiased) of ``features`` (N, D), N >= 2."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise DataError(f"features: need (N >= 2, D), got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _sqrtm(a: np.ndarray) -> tuple[np.ndarray, float]:
    """Matrix square root of ``a`` and its relative error ``|X X - a|_F / |a|_F`` (inf if not finite)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)  # singular input: judged by the error below
        root = linalg.sqrtm(a)
    if not np.all(np.isfinite(root)):
        return root, float("inf")
    return root, float(np.linalg.norm(root @ root - a) / max(np.linalg.norm(a), 1e-300))


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    ``|mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))``. When the square root of the
    product is inaccurate (singular covariances, e.g. fewer samples than dimensions), ``eps`` is
    added to both diagonals (logged); a tiny imaginary part from round-off is dropped, and a
    round-off result below 0 is returned as 0.
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise DataError(
            f"Fréchet distance: mu shapes {mu1.shape}, {mu2.shape}; sigma {sigma1.shape}, {sigma2.shape}"
        )
    covmean, error = _sqrtm(sigma1 @ sigma2)
    if error > 1e-6:
        log.info(
            "Fréchet distance: sqrtm error %.2g (singular covariances), adding %g to the diagonals",
            error,
            eps,
        )
        offset = eps * np.eye(len(sigma1))
        covmean, _ = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0.0, atol=1e-3):
            raise DataError(
                f"Fréchet distance: sqrtm has a large imaginary part {np.max(np.abs(covmean.imag)):.3g}"
            )
        covmean = covmean.real
    diff = mu1 - mu2
    return max(0.0, float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean)))


def fgd(real_features: np.ndarray, generated_features: np.ndarray) -> float:
    """FGD between two feature sets ``(N, 32)`` and ``(M, 32)`` (Gaussians fitted to each)."""
    return frechet_distance(*gaussian_stats(real_features), *gaussian_stats(generated_features))


# --------------------------------------------------------------------------------------------
# Many windows and a bootstrap interval
# --------------------------------------------------------------------------------------------

#: Stride (frames) of the FGD windows by default: every frame offset.
FGD_STRIDE = 1
#: Bootstrap block (frames): windows starting in the same 4 s of a sequence are resampled together.
BOOTSTRAP_BLOCK = FGD_WINDOW


def fgd_windows(
    sequences: Sequence[np.ndarray], stride: int = FGD_STRIDE, block: int = BOOTSTRAP_BLOCK
) -> tuple[np.ndarray, np.ndarray]:
    """The 60-frame windows of every sequence (T_i, 27) every ``stride`` frames, and their block ids.

    Returns ``windows`` (W, 60, 27) and ``blocks`` (W,) ints: windows of sequence ``i`` starting in
    frames ``[k block, (k + 1) block)`` share a block id, unique across sequences. Two lists of
    sequences with the same lengths give the same block ids window for window (paired bootstrap).
    A sequence shorter than 60 frames gives no window.
    """
    if stride < 1 or block < 1:
        raise DataError(f"fgd_windows: stride {stride} and block {block} must be >= 1")
    windows, blocks, next_block = [], [], 0
    for poses in sequences:
        poses = np.asarray(poses, dtype=np.float32)
        starts = np.arange(0, len(poses) - FGD_WINDOW + 1, stride)
        for s in starts:
            windows.append(poses[s : s + FGD_WINDOW])
        blocks.extend(next_block + starts // block)
        next_block += (len(poses) // block) + 1
    if not windows:
        return np.zeros((0, FGD_WINDOW, skeleton.POSE_DIM), np.float32), np.zeros(0, np.int64)
    return np.stack(windows), np.asarray(blocks, dtype=np.int64)


def _fast_frechet(
    mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray, eps: float = 1e-6
) -> float:
    """:func:`frechet_distance` with ``tr((s1 s2)^(1/2))`` as the sum of the square roots of the
    eigenvalues of ``s1 s2`` (real, >= 0 for covariances), ``eps`` on both diagonals: fast, for the
    bootstrap."""
    offset = eps * np.eye(len(s1))
    ev = np.linalg.eigvals((s1 + offset) @ (s2 + offset)).real
    diff = mu1 - mu2
    return max(
        0.0, float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.sum(np.sqrt(np.clip(ev, 0, None))))
    )


def _block_sums(features: np.ndarray, members: np.ndarray, n_blocks: int) -> tuple[np.ndarray, ...]:
    """Per block: window count (B,), feature sum (B, D) and sum of outer products (B, D, D)."""
    count = np.bincount(members, minlength=n_blocks).astype(np.float64)
    total = np.zeros((n_blocks, features.shape[1]))
    np.add.at(total, members, features)
    outer = np.zeros((n_blocks, features.shape[1], features.shape[1]))
    np.add.at(outer, members, features[:, :, None] * features[:, None, :])
    return count, total, outer


def _weighted_moments(
    weights: np.ndarray, count: np.ndarray, total: np.ndarray, outer: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Mean and unbiased covariance of the windows of the blocks taken ``weights`` times each (None: < 2)."""
    n = weights @ count
    if n < 2:
        return None
    mean = weights @ total / n
    return mean, (np.tensordot(weights, outer, axes=1) - n * np.outer(mean, mean)) / (n - 1)


@dataclass(frozen=True)
class FGDResult:
    """FGD with its bootstrap interval: ``fgd`` on all windows, ``low``/``high`` the ``level`` percentile
    interval of the block bootstrap; ``n_windows`` windows in ``n_blocks`` blocks."""

    fgd: float
    low: float
    high: float
    n_windows: int
    n_blocks: int


def fgd_bootstrap(
    real_features: np.ndarray,
    generated_features: np.ndarray,
    blocks: np.ndarray,
    n_boot: int = 500,
    seed: int = 0,
    level: float = 0.95,
) -> FGDResult:
    """FGD between paired feature sets (W, 32) and its paired block-bootstrap interval.

    Window ``w`` of both sets covers the same time of the same clip (``blocks[w]`` from
    :func:`fgd_windows`). Overlapping windows are far from independent, so whole blocks are resampled
    with replacement (``n_boot`` times, ``numpy.random.default_rng(seed)``), the same blocks for both
    sets, and the FGD recomputed; the interval is the central ``level`` of those values. It shows how
    much the number depends on which stretches of speech were evaluated, not the autoencoder's bias.
    """
    real_features = np.asarray(real_features, dtype=np.float64)
    generated_features = np.asarray(generated_features, dtype=np.float64)
    blocks = np.asarray(blocks)
    if real_features.shape != generated_features.shape or len(blocks) != len(real_features):
        raise DataError(
            f"fgd_bootstrap: paired features {real_features.shape} / {generated_features.shape}, "
            f"blocks {blocks.shape}"
        )
    if len(real_features) < 2:
        raise DataError(f"fgd_bootstrap: need >= 2 windows, got {len(real_features)}")
    if not 0 < level < 1 or n_boot < 1:
        raise DataError(f"fgd_bootstrap: level {level} must be in (0, 1), n_boot {n_boot} >= 1")
    value = fgd(real_features, generated_features)
    ids, members = np.unique(blocks, return_inverse=True)
    stats = [_block_sums(f, members, len(ids)) for f in (real_features, generated_features)]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        weights = np.bincount(rng.integers(0, len(ids), len(ids)), minlength=len(ids)).astype(np.float64)
        moments = [_weighted_moments(weights, *st) for st in stats]
        if moments[0] is not None and moments[1] is not None:
            values.append(_fast_frechet(*moments[0], *moments[1]))
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2]) if values else (np.nan, np.nan)
    return FGDResult(value, float(low), float(high), len(real_features), len(ids))
