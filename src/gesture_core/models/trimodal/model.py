"""The Trimodal gesture generator (Yoon et al. 2020, "Speech Gesture Generation from the Trimodal
Context of Text, Audio, and Speaker Identity"), as a PyTorch module.

Module and parameter names follow the authors' ``PoseGenerator`` so that their pretrained state
dict loads (see :mod:`.official`). One forward call generates one window of ``n_poses`` (34) frames
from its seed poses, raw audio, word ids and a speaker style:

- ``audio_encoder``: strided 1-D convolutions over the raw 16 kHz waveform -> (B, 34, 32).
- ``text_encoder``: word embedding (V, 300) -> causal temporal convolution network (TCN) ->
  Linear -> (B, 34, 32).
- speaker style: ``speaker_embedding`` -> ``speaker_mu`` / ``speaker_logvar``; the style vector
  ``z = mu + eps * exp(logvar / 2)`` is sampled even at inference (``eps`` is an input, so the
  caller controls the randomness).
- a 4-layer bidirectional GRU over [seed pose + bit, audio, text, z] per frame, the two
  directions' outputs summed, then ``out``: Linear -> LeakyReLU(slope 1) -> Linear -> (B, 34, 27).

The output is the pose minus ``mean_dir_vec`` (TED axes, see :mod:`gesture_core.skeleton`).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrizations

from .config import TrimodalConfig


class WavEncoder(nn.Module):
    """Raw waveform (B, samples) -> features (B, frames, 32); 36266 samples -> 34 frames."""

    def __init__(self, out_dim: int = 32):
        super().__init__()
        self.feat_extractor = nn.Sequential(
            nn.Conv1d(1, 16, 15, stride=5, padding=1600),
            nn.BatchNorm1d(16),
            nn.LeakyReLU(0.3),
            nn.Conv1d(16, 32, 15, stride=6),
            nn.BatchNorm1d(32),
            nn.LeakyReLU(0.3),
            nn.Conv1d(32, 64, 15, stride=6),
            nn.BatchNorm1d(64),
            nn.LeakyReLU(0.3),
            nn.Conv1d(64, out_dim, 15, stride=6),
        )

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """audio: (B, samples) float waveform in [-1, 1] -> (B, frames, out_dim)."""
        return self.feat_extractor(audio.unsqueeze(1)).transpose(1, 2)


class Chomp1d(nn.Module):
    """Drop the last ``size`` time steps: turns a symmetrically padded conv into a causal one."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, : -self.size]


def _weight_normed_conv(n_in: int, n_out: int, kernel_size: int, dilation: int) -> nn.Conv1d:
    """A causal-padded dilated Conv1d with weight normalisation (``weight = g * v / |v|``)."""
    conv = nn.Conv1d(n_in, n_out, kernel_size, padding=(kernel_size - 1) * dilation, dilation=dilation)
    nn.init.normal_(conv.weight, 0.0, 0.01)
    return parametrizations.weight_norm(conv, name="weight", dim=0)


class TemporalBlock(nn.Module):
    """Residual block of two dilated causal convolutions (Bai et al. 2018, the TCN).

    ``net`` holds the same ``conv1``/``conv2`` modules again (as in the original code), so the state
    dict names every conv tensor twice: ``conv1.*`` = ``net.0.*`` and ``conv2.*`` = ``net.4.*``.
    """

    def __init__(self, n_in: int, n_out: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        pad = (kernel_size - 1) * dilation
        self.conv1 = _weight_normed_conv(n_in, n_out, kernel_size, dilation)
        self.chomp1 = Chomp1d(pad)
        self.relu1 = nn.ReLU()
        self.dropout1 = nn.Dropout(dropout)
        self.conv2 = _weight_normed_conv(n_out, n_out, kernel_size, dilation)
        self.chomp2 = Chomp1d(pad)
        self.relu2 = nn.ReLU()
        self.dropout2 = nn.Dropout(dropout)
        self.net = nn.Sequential(
            self.conv1, self.chomp1, self.relu1, self.dropout1, self.conv2, self.chomp2, self.relu2, self.dropout2
        )
        self.downsample = nn.Conv1d(n_in, n_out, 1) if n_in != n_out else None
        if self.downsample is not None:
            nn.init.normal_(self.downsample.weight, 0.0, 0.01)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, n_in, T) -> (B, n_out, T)."""
        res = x if self.downsample is None else self.downsample(x)
        return self.relu(self.net(x) + res)


class TemporalConvNet(nn.Module):
    """Stack of :class:`TemporalBlock` with dilations 1, 2, 4, ... (kernel 2: causal receptive field)."""

    def __init__(self, n_in: int, channels: list[int], kernel_size: int = 2, dropout: float = 0.3):
        super().__init__()
        blocks = []
        for i, n_out in enumerate(channels):
            blocks.append(TemporalBlock(n_in if i == 0 else channels[i - 1], n_out, kernel_size, 2**i, dropout))
        self.network = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)


class TextEncoderTCN(nn.Module):
    """Word ids (B, T) int64 -> text features (B, T, out_dim)."""

    def __init__(self, cfg: TrimodalConfig):
        super().__init__()
        self.embedding = nn.Embedding(cfg.n_words, cfg.wordembed_dim)
        self.tcn = TemporalConvNet(cfg.wordembed_dim, [cfg.hidden_size] * cfg.n_layers, 2, cfg.dropout)
        self.decoder = nn.Linear(cfg.hidden_size, cfg.text_feat_dim)
        self.drop = nn.Dropout(cfg.emb_dropout)
        nn.init.normal_(self.decoder.weight, 0.0, 0.01)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, text_ids: torch.Tensor) -> torch.Tensor:
        emb = self.drop(self.embedding(text_ids))  # (B, T, E)
        y = self.tcn(emb.transpose(1, 2)).transpose(1, 2)  # the TCN convolves over time: (B, C, T)
        return self.decoder(y)


class PoseGenerator(nn.Module):
    """The Trimodal generator; see the module docstring. Build with :class:`TrimodalConfig`."""

    def __init__(self, cfg: TrimodalConfig):
        super().__init__()
        self.cfg = cfg
        self.audio_encoder = WavEncoder(cfg.audio_feat_dim)
        self.text_encoder = TextEncoderTCN(cfg)
        self.speaker_embedding = nn.Sequential(
            nn.Embedding(cfg.n_speakers, cfg.z_dim), nn.Linear(cfg.z_dim, cfg.z_dim)
        )
        self.speaker_mu = nn.Linear(cfg.z_dim, cfg.z_dim)
        self.speaker_logvar = nn.Linear(cfg.z_dim, cfg.z_dim)
        self.gru = nn.GRU(
            cfg.gru_input_size,
            hidden_size=cfg.hidden_size,
            num_layers=cfg.n_layers,
            batch_first=True,
            bidirectional=True,
            dropout=cfg.dropout,
        )
        self.out = nn.Sequential(
            nn.Linear(cfg.hidden_size, cfg.hidden_size // 2),
            # Slope 1 makes this the identity: the authors wrote nn.LeakyReLU(True). Kept so the
            # official weights behave as trained.
            nn.LeakyReLU(negative_slope=1.0),
            nn.Linear(cfg.hidden_size // 2, cfg.pose_dim),
        )

    def style(self, speaker_weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Speaker style distribution.

        speaker_weights: (B, n_speakers) mixture over speaker embedding rows (one-hot for one speaker,
        uniform for the average style). Returns ``(mu, logvar)``, each (B, z_dim).
        """
        context = speaker_weights @ self.speaker_embedding[0].weight  # = embedding lookup for one-hot rows
        context = self.speaker_embedding[1](context)
        return self.speaker_mu(context), self.speaker_logvar(context)

    def forward(
        self,
        pre_seq: torch.Tensor,
        text_ids: torch.Tensor,
        audio: torch.Tensor,
        speaker_weights: torch.Tensor,
        eps: torch.Tensor,
    ) -> torch.Tensor:
        """Generate one window.

        - pre_seq: (B, n_poses, 28) float: frames 0..n_pre_poses-1 hold the seed pose minus
          ``mean_dir_vec`` and a constraint bit 1 in the last column; other frames 0.
        - text_ids: (B, n_poses) int64 word id per frame (0 = no word starts there).
        - audio: (B, audio_samples) float 16 kHz waveform of the window.
        - speaker_weights: (B, n_speakers) float, see :meth:`style`.
        - eps: (B, z_dim) float standard-normal noise for sampling z (zeros: z = mu).

        Returns (B, n_poses, 27): bone directions minus ``mean_dir_vec``, TED axes.
        """
        audio_feat = self.audio_encoder(audio)
        text_feat = self.text_encoder(text_ids)
        mu, logvar = self.style(speaker_weights)
        z = mu + eps * torch.exp(0.5 * logvar)
        z_seq = z.unsqueeze(1).expand(-1, pre_seq.shape[1], -1)
        x = torch.cat((pre_seq, audio_feat, text_feat, z_seq), dim=2)
        h, _ = self.gru(x)
        h = h[:, :, : self.cfg.hidden_size] + h[:, :, self.cfg.hidden_size :]  # sum both directions
        return self.out(h)


def n_parameters(model: nn.Module, include_embedding: bool = True) -> int:
    """Number of trainable values (``parameters()`` yields the TCN's aliased convs once), optionally
    without the word embedding table."""
    total = sum(p.numel() for p in model.parameters())
    if not include_embedding and isinstance(model, PoseGenerator):
        total -= model.text_encoder.embedding.weight.numel()
    return total
