"""Audio files in, 16 kHz mono float32 out; and cutting audio into fixed-size chunks.

Every audio stream of the stack is mono float32 in [-1, 1] at 16 kHz
(:data:`~gesture_core.contracts.AUDIO_SAMPLE_RATE`). :func:`load_audio` reads any file soundfile
(libsndfile) reads -- WAV, FLAC, OGG; any sample rate, channel count and sample format -- and
converts it: channels are averaged, the rate is converted with soxr.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ..contracts import AUDIO_SAMPLE_RATE, MAX_UTTERANCE_S
from ..errors import ConfigError, SpeechError

_log = logging.getLogger(__name__)


def load_audio(path: str | Path, max_seconds: float = MAX_UTTERANCE_S) -> np.ndarray:
    """Read an audio file as (N,) float32 mono in [-1, 1] at 16 kHz.

    Raises :class:`SpeechError` naming the file when it is missing, unreadable, empty or longer
    than ``max_seconds`` (checked from its header, before any sample is read).
    """
    path = Path(path)
    try:
        if not path.is_file():
            raise SpeechError(f"audio file {str(path)!r} does not exist or is not a file")
        info = sf.info(path)
        if info.samplerate <= 0 or info.frames > max_seconds * info.samplerate:
            raise SpeechError(
                f"audio file {str(path)!r} is {info.frames / max(info.samplerate, 1):.0f} s long, "
                f"limit {max_seconds:g} s: cut it into shorter files"
            )
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except OSError as exc:  # a name too long for the file system, a directory we may not read, ...
        raise SpeechError(f"audio file {str(path)[:200]!r} cannot be opened: {exc.strerror or exc}") from None
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise SpeechError(f"audio file {str(path)!r} cannot be read: {exc}") from None
    if data.shape[0] == 0:
        raise SpeechError(f"audio file {str(path)!r} has no samples")
    return to_mono_16k(data, rate)


def to_mono_16k(data: np.ndarray, sample_rate: int) -> np.ndarray:
    """(N,) or (N, channels) samples at ``sample_rate`` Hz -> (M,) float32 mono at 16 kHz.

    Channels are averaged; the result is clipped to [-1, 1] (resampling a full-scale signal can
    ring slightly past it; clipping is logged).
    """
    data = np.asarray(data, dtype=np.float32)
    if data.ndim not in (1, 2):
        raise SpeechError(f"audio must be (N,) or (N, channels), got shape {data.shape}")
    if sample_rate <= 0:
        raise SpeechError(f"audio sample_rate must be > 0, got {sample_rate}")
    mono = data.mean(axis=1, dtype=np.float32) if data.ndim == 2 else data
    if not np.all(np.isfinite(mono)):
        raise SpeechError("audio contains NaN or inf samples")
    if sample_rate != AUDIO_SAMPLE_RATE and mono.size:
        mono = soxr.resample(mono, sample_rate, AUDIO_SAMPLE_RATE).astype(np.float32)
    n_over = int(np.count_nonzero(np.abs(mono) > 1.0))
    if n_over:
        _log.info("clipped %d samples outside [-1, 1]", n_over)
        mono = np.clip(mono, -1.0, 1.0)
    return np.ascontiguousarray(mono, dtype=np.float32)


def chunk_audio(audio: np.ndarray, chunk_samples: int) -> list[tuple[int, np.ndarray]]:
    """Cut (N,) ``audio`` into consecutive chunks of ``chunk_samples`` (the last may be shorter).

    Returns ``[(offset, samples), ...]``: ``offset`` is the index of the chunk's first sample,
    ``samples`` a view of ``audio[offset:offset + chunk_samples]``. Empty audio gives no chunks.
    """
    if chunk_samples < 1:
        raise ConfigError(f"chunk_samples must be >= 1, got {chunk_samples}")
    audio = np.asarray(audio).ravel()
    return [(off, audio[off : off + chunk_samples]) for off in range(0, audio.size, chunk_samples)]
