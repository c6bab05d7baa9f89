"""Frame-wise audio features for gesture generation: log-mel, onset strength, RMS, pitch, onsets, beats.

:func:`extract_features` turns a 16 kHz waveform (a whole utterance, or a streaming window of it)
into :class:`~gesture_core.contracts.AudioFeatures` at the gesture frame rate (15 fps by default).

Timing
------
16000 / 15 samples is not an integer hop, so features are computed in two steps:

1. **Fine analysis** at an integer hop (``hop_s``, 10 ms = 160 samples by default) with centred
   frames: fine frame ``j`` is centred on sample ``j * hop`` of the segment, i.e. at
   ``offset_s + j * hop_s`` seconds after the utterance start (``offset_s`` is where the segment
   starts in its utterance). Onsets and beats are detected here, so their times are accurate to
   about one fine hop, far better than one 15 fps frame.
2. **Pooling onto the output grid**: output frames lie on the utterance's global grid, frame ``k``
   centred at ``k / frame_rate`` s. A segment gets the frames whose centres fall inside it,
   ``k0 <= k < k1`` with ``k0 = ceil(offset_s * frame_rate)``, so ``t0 = k0 / frame_rate`` and frame
   ``i`` of the result is centred at ``t0 + i / frame_rate``. For a whole utterance ``t0 = 0`` and
   ``n_frames = ceil(duration * frame_rate)``, the same frames a gesture generator produces.
   Every fine frame goes to the output frame whose centre is nearest (a box of width
   ``1 / frame_rate``); the box is reduced by: mean mel power (then dB), RMS of the fine RMS
   values, max of onset strength (peaks survive), mean pitch of voiced fine frames (unvoiced
   when fewer than half of the box's fine frames are voiced).

Windows of one utterance therefore share the utterance's frame grid: a window's frames are a
subset of the whole-utterance frames, equal to them away from the window edges.

Pitch uses ``librosa.yin`` (fast; ``pyin`` is too slow for real time). YIN always returns a
frequency, so a frame counts as voiced only if its RMS is above ``silence_db`` and the waveform is
periodic at the detected period: the normalised autocorrelation at lag ``round(sr / f0)`` is at
least ``voicing_threshold`` (1 for a pure tone, about 0 for noise).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import math
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np

from .contracts import AUDIO_SAMPLE_RATE, GESTURE_FPS, AudioFeatures
from .errors import ConfigError, ContractError
from .settings import Settings, setting

SR = AUDIO_SAMPLE_RATE
#: YIN frame length (samples, 64 ms): fits two periods of the lowest allowed f0.
PITCH_FRAME = 1024
MIN_F0_HZ = 2 * SR / PITCH_FRAME  # 31.25 Hz
#: dB floor of the log-mel spectrogram and RMS (``librosa.power_to_db`` ``amin`` = 1e-10).
DB_FLOOR = -100.0


@dataclass(frozen=True)
class FeatureConfig(Settings):
    """Parameters of :func:`extract_features`; validated on construction (``ConfigError`` names the key).

    The fields made with :func:`~gesture_core.settings.setting` are also the audio features node's
    parameters (their ranges and descriptions are defined here, once):

    - ``frame_rate``: output frames per second (Hz); at most ``0.4 / hop_s`` so that every output
      frame pools at least 2.5 fine frames.
    - ``hop_s``: fine analysis hop (s); must be a whole number of samples at 16 kHz.
    - ``n_fft``, ``win_length``: STFT size and window (samples) of the mel spectrogram and RMS.
    - ``n_mels``, ``mel_fmax``: mel bands and their upper edge (Hz).
    - ``f0_min_hz``, ``f0_max_hz``: pitch search range (Hz).
    - ``voicing_threshold``: minimum normalised autocorrelation at the pitch period, in [0, 1].
    - ``silence_db``: frames with RMS below this level (dB re full scale 1.0) are unvoiced.
    """

    frame_rate: float = setting(float(GESTURE_FPS), "feature frames per second", range=(1.0, 40.0), unit="Hz")
    hop_s: float = 0.01
    n_fft: int = 512
    win_length: int = 400
    n_mels: int = setting(64, "log-mel bands", range=(1, 256))
    mel_fmax: float = SR / 2
    f0_min_hz: float = setting(60.0, "lowest pitch searched", range=(MIN_F0_HZ, 1000.0), unit="Hz")
    f0_max_hz: float = setting(500.0, "highest pitch searched", range=(40.0, SR / 4), unit="Hz")
    voicing_threshold: float = setting(
        0.5, "minimum periodicity (autocorrelation at the pitch period) of a voiced frame", range=(0.0, 1.0)
    )
    silence_db: float = setting(
        -50.0, "RMS level (dB re full scale) below which a frame is unvoiced", range=(DB_FLOOR + 1, -1.0), unit="dB"
    )

    def check(self) -> None:
        hop = self.hop_s * SR
        if not 0.001 <= self.hop_s <= 0.05 or abs(hop - round(hop)) > 1e-6:
            raise ConfigError(f"features.hop_s={self.hop_s} must be in [0.001, 0.05] s and a whole number of samples")
        if not 0 < self.frame_rate <= 0.4 / self.hop_s:
            raise ConfigError(f"features.frame_rate={self.frame_rate} must be in (0, {0.4 / self.hop_s:g}] Hz")
        if not 64 <= self.n_fft <= 8192 or not 16 <= self.win_length <= self.n_fft:
            raise ConfigError(f"features.n_fft={self.n_fft} / win_length={self.win_length}: need 16 <= win_length <= n_fft")
        if not 0 < self.mel_fmax <= SR / 2:
            raise ConfigError(f"features.mel_fmax={self.mel_fmax} must be in (0, {SR / 2:g}] Hz")
        if not self.f0_min_hz < self.f0_max_hz:
            raise ConfigError(f"features.f0_min_hz={self.f0_min_hz:g} must be below f0_max_hz={self.f0_max_hz:g}")

    @property
    def hop(self) -> int:
        """Fine hop in samples."""
        return int(round(self.hop_s * SR))


def extract_features(
    audio: np.ndarray,
    utterance_id: str,
    config: FeatureConfig | None = None,
    offset_samples: int = 0,
    final: bool = True,
) -> AudioFeatures:
    """Features of ``audio``, a segment starting at sample ``offset_samples`` of utterance ``utterance_id``.

    ``audio``: (N,) float waveform at 16 kHz, N >= ``config.hop``. Returns frames on the utterance's global grid
    (see the module docstring): frame ``i`` centred at ``t0 + i / config.frame_rate`` s after the
    utterance start; onsets and beats in seconds after the utterance start. ``final`` is copied
    into the result (True for a whole utterance, False for a streaming window).
    """
    cfg = config or FeatureConfig()
    y = np.asarray(audio, dtype=np.float32)
    if y.ndim != 1 or y.size < cfg.hop:
        raise ContractError(f"features need a 1-D waveform of at least {cfg.hop} samples, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ContractError("features: audio contains NaN or inf")
    if isinstance(offset_samples, bool) or not isinstance(offset_samples, (int, np.integer)) or offset_samples < 0:
        raise ContractError(f"features: offset_samples must be an int >= 0, got {offset_samples!r}")
    _compile_librosa_kernels()
    return _features(y, utterance_id, cfg, int(offset_samples), final)


def join_features(parts: list[AudioFeatures], final: bool = True) -> AudioFeatures:
    """Consecutive segments' features of one utterance (streaming windows, then the rest) as one.

    ``parts`` must continue each other on the utterance's frame grid (part ``i + 1`` starts at the
    frame after part ``i``'s last), as :func:`extract_features` makes them for adjacent segments.
    The frames equal a whole-utterance extraction's except at the joins (each segment is analysed
    without its neighbours), and onsets and beats are those of each segment: cheap, for utterances
    too long to analyse again as a whole when they end. Raises ``ContractError`` on a gap.
    """
    if not parts:
        raise ContractError("join_features needs at least one part")
    fr = parts[0].frame_rate
    for prev, nxt in zip(parts[:-1], parts[1:]):
        expected = prev.t0 + prev.n_frames / fr
        if nxt.frame_rate != fr or nxt.utterance_id != prev.utterance_id or abs(nxt.t0 - expected) > 0.25 / fr:
            raise ContractError(
                f"features of {nxt.utterance_id!r} at t0 {nxt.t0:g} s do not continue the part before "
                f"(which ends at {expected:g} s, {prev.frame_rate:g} Hz)"
            )
    return AudioFeatures(
        utterance_id=parts[0].utterance_id,
        frame_rate=fr,
        t0=parts[0].t0,
        log_mel=np.concatenate([p.log_mel for p in parts]),
        **{name: np.concatenate([getattr(p, name) for p in parts]) for name in ("onset_strength", "rms", "f0_hz")},
        onsets=np.concatenate([p.onsets for p in parts]),
        beats=np.concatenate([p.beats for p in parts]),
        final=final,
    )


def _features(
    y: np.ndarray, utterance_id: str, cfg: FeatureConfig, offset_samples: int, final: bool
) -> AudioFeatures:
    """:func:`extract_features` on validated input: ``y`` (N,) float32, N >= ``cfg.hop``."""
    # Fine frames sit on the utterance's fine grid (multiples of hop): skip to the first one.
    skip = -offset_samples % cfg.hop
    fine = _fine_features(y[skip:], cfg)
    fine_t = (offset_samples + skip + np.arange(fine.n) * cfg.hop) / SR

    # Output frames k0 <= k < k1 with centres k / frame_rate inside the segment.
    fr = cfg.frame_rate
    k0 = math.ceil(offset_samples * fr / SR - 1e-9)
    k1 = math.ceil((offset_samples + y.size) * fr / SR - 1e-9)
    grid = _Pooling.onto_grid(fine_t, fr, k0, n_out=max(k1 - k0, 0))
    log_mel = librosa.power_to_db(grid.mean(fine.mel_power), ref=1.0, amin=1e-10, top_db=None)
    rms = np.sqrt(grid.mean(fine.rms**2))
    onset_strength = grid.reduce(fine.onset_env, np.maximum)
    voiced_count = grid.reduce(fine.voiced.astype(np.float64), np.add)
    f0_sum = grid.reduce(np.where(fine.voiced, fine.f0, 0.0), np.add)
    f0 = np.where(2 * voiced_count >= grid.counts, f0_sum / np.maximum(voiced_count, 1), 0.0)

    onsets = librosa.onset.onset_detect(onset_envelope=fine.onset_env, sr=SR, hop_length=cfg.hop, units="frames")
    _, beats = librosa.beat.beat_track(onset_envelope=fine.onset_env, sr=SR, hop_length=cfg.hop, units="frames")
    return AudioFeatures(
        utterance_id=utterance_id,
        frame_rate=fr,
        t0=k0 / fr,
        log_mel=log_mel,
        onset_strength=onset_strength,
        rms=rms,
        f0_hz=f0,
        onsets=fine_t[np.asarray(onsets, dtype=np.int64)],
        beats=fine_t[np.asarray(beats, dtype=np.int64)],
        final=final,
    )


@functools.cache
def _compile_librosa_kernels() -> None:
    """Compile (or load from numba's disk cache) librosa's kernels, one process at a time.

    librosa compiles its numba kernels on first use and caches them next to its sources
    (``cache=True``). numba's cache is not safe when several processes write it at once: the two
    files of a gufunc can come from different processes and then segfault every later process that
    loads them (numba issue #10128). The node graph starts several processes that extract features
    at the same moment, so each process's first call runs the whole feature path on a short tone
    under an exclusive file lock: the first one writes the cache, the others then only read it.
    Called once per process (``functools.cache``); costs milliseconds once the cache exists. The
    lock is per librosa installation (its cache is), so processes of another virtual environment do
    not wait for it.
    """
    install = hashlib.sha1(str(Path(librosa.__file__).resolve().parent).encode()).hexdigest()[:12]
    lock_path = Path(tempfile.gettempdir()) / f"gesture_core-librosa-numba-{os.getuid()}-{install}.lock"
    tone = (0.1 * np.sin(2 * np.pi * 200.0 * np.arange(SR // 2) / SR)).astype(np.float32)
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        _features(tone, "librosa-warm-up", FeatureConfig(), offset_samples=0, final=True)


@dataclass
class _Pooling:
    """Which fine frames make up each output frame: the fine frames whose times are nearest its centre.

    Fine frames are in time order, so every output frame's fine frames are one contiguous run:
    ``starts[i]`` is the first of output frame ``i`` among the ``keep`` ones, ``counts[i]`` how many.
    """

    keep: np.ndarray  # (n_fine,) bool: the fine frame belongs to one of the output frames
    starts: np.ndarray  # (n_out,) int
    counts: np.ndarray  # (n_out,) int, >= 1 (guaranteed by FeatureConfig's frame_rate limit)

    @classmethod
    def onto_grid(cls, fine_t: np.ndarray, frame_rate: float, k0: int, n_out: int) -> _Pooling:
        """Fine frame times ``fine_t`` (s) onto output frames ``k0 .. k0 + n_out - 1`` centred at ``k / frame_rate``."""
        box = np.floor(fine_t * frame_rate + 0.5).astype(np.int64) - k0  # output frame of each fine frame
        keep = (box >= 0) & (box < n_out)
        starts = np.searchsorted(box[keep], np.arange(n_out))
        return cls(keep, starts, np.diff(np.append(starts, np.count_nonzero(keep))))

    def reduce(self, values: np.ndarray, ufunc: np.ufunc) -> np.ndarray:
        """(n_fine, ...) -> (n_out, ...): ``ufunc`` (np.add, np.maximum) over each output frame's run."""
        if self.starts.size == 0:
            return np.zeros((0, *values.shape[1:]), dtype=np.float64)
        return ufunc.reduceat(values[self.keep], self.starts, axis=0)

    def mean(self, values: np.ndarray) -> np.ndarray:
        """(n_fine, ...) -> (n_out, ...) mean over each output frame's run."""
        return self.reduce(values, np.add) / self.counts.reshape(-1, *[1] * (values.ndim - 1))


@dataclass
class _FineFeatures:
    """Features at the fine hop, all with ``n`` frames (frame ``j`` centred at sample ``j * hop``)."""

    mel_power: np.ndarray  # (n, n_mels) mel power
    onset_env: np.ndarray  # (n,) spectral flux of the log-mel spectrogram, >= 0
    rms: np.ndarray  # (n,) RMS amplitude
    f0: np.ndarray  # (n,) YIN f0 estimate (Hz), meaningful only where voiced
    voiced: np.ndarray  # (n,) bool

    @property
    def n(self) -> int:
        return self.rms.size


def _fine_features(y: np.ndarray, cfg: FeatureConfig) -> _FineFeatures:
    """Every feature of waveform ``y`` (N,) at the fine hop, centred frames (1 + N // hop of them)."""
    hop = cfg.hop
    n = 1 + y.size // hop
    with warnings.catch_warnings():
        # Segments shorter than n_fft are zero-padded (pad_mode="constant"), which is what we want.
        warnings.filterwarnings("ignore", message=r"n_fft=\d+ is too large", category=UserWarning)
        mel = librosa.feature.melspectrogram(
            y=y, sr=SR, n_fft=cfg.n_fft, hop_length=hop, win_length=cfg.win_length, n_mels=cfg.n_mels,
            fmax=cfg.mel_fmax, center=True, pad_mode="constant",
        )[:, :n]
    mel_db = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None)
    # center=True shifts the flux by n_fft / (2 hop) frames, compensating that a frame "sees" an
    # onset half a window before its centre does.
    onset_env = librosa.onset.onset_strength(S=mel_db, sr=SR, hop_length=hop, n_fft=cfg.n_fft, center=True)[:n]
    rms = librosa.feature.rms(y=y, frame_length=cfg.win_length, hop_length=hop, center=True, pad_mode="constant")[0, :n]
    f0 = librosa.yin(
        y, fmin=cfg.f0_min_hz, fmax=cfg.f0_max_hz, sr=SR, frame_length=PITCH_FRAME, hop_length=hop, center=True
    )[:n]
    periodicity = _periodicity(y, f0, hop)
    loud = 20 * np.log10(np.maximum(rms, 1e-5)) > cfg.silence_db
    voiced = loud & (periodicity >= cfg.voicing_threshold)
    return _FineFeatures(mel.T.astype(np.float64), onset_env, rms, f0, voiced)


def _periodicity(y: np.ndarray, f0: np.ndarray, hop: int) -> np.ndarray:
    """Normalised autocorrelation of every YIN frame at lag ``round(SR / f0)``, (n,) in [-1, 1].

    Frames are the ones ``librosa.yin`` analyses (``PITCH_FRAME`` samples, centred, zero-padded);
    the correlation compares the first half of the frame with the same span one period later.
    """
    padded = np.pad(y, PITCH_FRAME // 2)
    frames = librosa.util.frame(padded, frame_length=PITCH_FRAME, hop_length=hop)[:, : f0.size]  # (L, n)
    width = PITCH_FRAME // 2
    lag = np.clip(np.round(SR / f0).astype(np.int64), 1, PITCH_FRAME - width)  # (n,)
    cols = np.arange(frames.shape[1])
    rows = np.arange(width)[:, None]
    a = frames[rows, cols]  # (width, n)
    b = frames[rows + lag, cols]
    denom = np.sqrt(np.sum(a * a, axis=0) * np.sum(b * b, axis=0))
    return np.where(denom > 0, np.sum(a * b, axis=0) / np.maximum(denom, 1e-20), 0.0)
