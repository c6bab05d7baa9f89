"""Loudspeaker output and live microphone input through sounddevice (PortAudio), when available.

sounddevice is optional: ``pip install 'gesture-core[audio]'`` plus the PortAudio library
(Debian: ``libportaudio2``). Without it, or without a sound card, :class:`AudioPlayer` plays
nothing and says so once -- the speech source keeps every utterance's timing exactly as if it
were playing -- while :class:`Microphone` raises a :class:`SpeechError` that says what to install.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from ..contracts import AUDIO_SAMPLE_RATE
from ..errors import SpeechError

_log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'gesture-core[audio]' and the PortAudio library (apt install libportaudio2)"


def import_sounddevice() -> tuple[ModuleType | None, str]:
    """``(sounddevice module, "")``, or ``(None, why it is unavailable)``."""
    try:
        import sounddevice
    except ImportError:
        return None, "the sounddevice package is not installed"
    except OSError as exc:  # raised by sounddevice when libportaudio is missing
        return None, f"PortAudio is missing ({exc})"
    return sounddevice, ""


class AudioPlayer:
    """Plays 16 kHz mono audio on the default output device, or nothing when there is none.

    ``enabled=False`` never opens a device. Whether playback happens is decided once, here, and
    logged once; :meth:`play` returns at once (PortAudio plays in its own thread).
    """

    def __init__(self, enabled: bool = True, logger: Any = _log):
        self._sd: ModuleType | None = None
        if not enabled:
            reason = "playback is disabled"
        else:
            self._sd, reason = import_sounddevice()
            if self._sd is not None:
                try:
                    self._sd.query_devices(kind="output")
                except Exception as exc:  # sounddevice.PortAudioError, ValueError: no output device
                    self._sd, reason = None, f"no audio output device ({exc})"
        if self._sd is None:
            logger.info(f"not playing audio: {reason}; utterances keep their timing as if played")
        else:
            logger.info("playing audio on the default output device")

    @property
    def available(self) -> bool:
        return self._sd is not None

    def play(self, audio: np.ndarray) -> None:
        """Start playing (N,) float32 16 kHz ``audio`` now (interrupting what is playing)."""
        if self._sd is not None:
            self._sd.play(np.asarray(audio, dtype=np.float32), AUDIO_SAMPLE_RATE)

    def stop(self) -> None:
        if self._sd is not None:
            self._sd.stop()


class Microphone:
    """Live capture from the default input device: 16 kHz mono float32 blocks.

    ``on_block((block_samples,) float32)`` is called from PortAudio's thread for every block; hand
    the data over to your own thread (a queue). Raises :class:`SpeechError` when sounddevice,
    PortAudio or an input device that records 16 kHz mono is missing.
    """

    def __init__(self, block_samples: int, on_block: Callable[[np.ndarray], None], logger: Any = _log):
        sd, reason = import_sounddevice()
        if sd is None:
            raise SpeechError(f"live microphone input is unavailable: {reason}; install it: {INSTALL_HINT}")
        self._on_block = on_block
        self._logger = logger
        try:
            self._stream = sd.InputStream(
                samplerate=AUDIO_SAMPLE_RATE, blocksize=block_samples, channels=1, dtype="float32",
                callback=self._callback,
            )  # fmt: skip
        except Exception as exc:  # sounddevice.PortAudioError, ValueError: no device / format
            raise SpeechError(f"cannot open a 16 kHz mono microphone: {exc}") from None

    def _callback(self, indata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        if status:
            self._logger.warning(f"microphone: {status}")
        self._on_block(indata[:, 0].copy())

    def start(self) -> None:
        self._stream.start()

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()
