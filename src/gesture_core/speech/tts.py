"""Text to speech with espeak-ng, driven through its C library (``libespeak-ng.so.1``) by ctypes.

:class:`EspeakTTS` speaks a text and returns :class:`Speech`: the waveform (espeak's native
22050 Hz int16, converted to float32 and resampled to 16 kHz with soxr) and the timed words
(:mod:`gesture_core.speech.word_timing` maps espeak's word events back to the words of the text),
each with the time of its primary stressed syllable (:mod:`gesture_core.speech.stress`, from
espeak's phoneme events and its stress-marked phoneme string of the same text).

One process has one espeak-ng synthesiser: the C library keeps its voice, parameters and
callback in global variables. Every call into it therefore takes :data:`_LIBRARY_LOCK`, the one
lock of the process that mirrors that global state; :class:`EspeakTTS` objects are cheap views on
the shared library and are safe to use from several threads.

The library is used in ``AUDIO_OUTPUT_SYNCHRONOUS`` mode: ``espeak_Synth`` returns once the
whole text is spoken into our callback, which receives the PCM blocks and the events (for
``espeakEVENT_WORD`` and ``espeakEVENT_PHONEME``: ``text_position``, 1-based in characters, and
``audio_position`` in ms from the start of that ``espeak_Synth`` call; a phoneme event also names
its phoneme in ``id.string``). Phoneme events are asked for at initialisation
(``espeakINITIALIZE_PHONEME_EVENTS``).
"""

from __future__ import annotations

import ctypes
import logging
import math
import re
import threading
from dataclasses import dataclass, replace

import numpy as np
import soxr

from ..contracts import AUDIO_SAMPLE_RATE, Word
from ..errors import ConfigError, SpeechError
from .stress import PhonemeEvent, parse_phonemes, stress_times
from .word_timing import split_words, time_words

_log = logging.getLogger(__name__)

#: The C library of espeak-ng (Debian: ``libespeak-ng1``).
LIBRARY = "libespeak-ng.so.1"
#: Voice used for text without Hangul when no voice is given.
DEFAULT_VOICE = "en-us"
KOREAN_VOICE = "ko"
#: espeak-ng's speaking rate limits, words per minute (its default is 175).
RATE_RANGE = (80, 450)
#: espeak-ng's pitch parameter, 0-100 (its default is 50).
PITCH_RANGE = (0, 100)

# Constants of espeak-ng's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # report errors instead of calling exit()
_INITIALIZE_PHONEME_EVENTS = 0x0001
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_PHONEME = 7
_PARAM_RATE = 1
_PARAM_PITCH = 3
_EE_OK = 0
#: Separator of phoneme names in espeak_TextToPhonemes' output.
_PHONEME_SEP = "|"

_HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")

# espeak-ng's state is per process (C globals), so its lock is too: see the module docstring.
_LIBRARY_LOCK = threading.Lock()


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """``espeak_EVENT`` of speak_lib.h."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass
class Speech:
    """Synthesised speech.

    ``audio``: (N,) float32 in [-1, 1] at 16 kHz. ``words``: one per word of the text, times in
    seconds from the first sample, ``stress`` set for the words espeak stresses. ``voice``: the
    espeak-ng voice used; ``language``: its language code (``en``, ``ko``).
    """

    audio: np.ndarray
    words: list[Word]
    voice: str
    language: str

    @property
    def duration(self) -> float:
        """Length of the audio in seconds."""
        return self.audio.size / AUDIO_SAMPLE_RATE

    def delayed(self, seconds: float) -> Speech:
        """This speech after ``seconds`` (>= 0, rounded up to whole samples) of silence: the audio
        starts with zeros and every word time (start, end, stress) is shifted by as much."""
        if not (math.isfinite(seconds) and seconds >= 0.0):
            raise SpeechError(f"a delay must be finite and >= 0 s, got {seconds}")
        n = math.ceil(seconds * AUDIO_SAMPLE_RATE)
        if n == 0:
            return self
        dt = n / AUDIO_SAMPLE_RATE
        words = [
            replace(w, start=w.start + dt, end=w.end + dt, stress=None if w.stress is None else w.stress + dt)
            for w in self.words
        ]
        audio = np.concatenate([np.zeros(n, dtype=self.audio.dtype), self.audio])
        return Speech(audio, words, self.voice, self.language)


def pick_voice(text: str, voice: str | None = None, default: str = DEFAULT_VOICE) -> str:
    """``voice`` if given, else the Korean voice for text containing Hangul, else ``default``."""
    if voice:
        return voice
    return KOREAN_VOICE if _HANGUL.search(text) else default


def voice_language(voice: str) -> str:
    """Language code of an espeak-ng voice name: ``en-us`` -> ``en``, ``ko`` -> ``ko``."""
    return voice.split("-")[0].split("+")[0].lower()


class EspeakTTS:
    """espeak-ng speech synthesis with word timings (see the module docstring on threads).

    ``library``: name or path of the C library; ``default_voice``: voice for non-Korean text.
    Raises :class:`SpeechError` when the library, its data or the default voice is missing.
    """

    def __init__(self, library: str = LIBRARY, default_voice: str = DEFAULT_VOICE):
        try:
            lib = ctypes.CDLL(library)
        except OSError as exc:
            hint = "install it, e.g. apt install libespeak-ng1"
            raise SpeechError(f"espeak-ng library {library!r} cannot be loaded ({exc}); {hint}") from None
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
        ]  # fmt: skip
        self._lib = lib
        # The ctypes callback object must outlive every synthesis: keep it on the instance.
        self._callback = _SynthCallback(self._on_synth)
        self._pcm: list[np.ndarray] = []
        self._events: list[tuple[int, int]] = []
        self._phonemes: list[PhonemeEvent] = []
        with _LIBRARY_LOCK:
            options = _INITIALIZE_DONT_EXIT | _INITIALIZE_PHONEME_EVENTS
            self.native_rate = int(lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, options))
        if self.native_rate <= 0:
            raise SpeechError(
                f"espeak_Initialize failed (returned {self.native_rate}): espeak-ng data not found?"
            )
        if not self.has_voice(default_voice):
            raise SpeechError(f"default_voice {default_voice!r} is not an installed espeak-ng voice")
        self.default_voice = default_voice

    def has_voice(self, voice: str) -> bool:
        """Whether espeak-ng can select ``voice`` (a name such as ``en-us`` or ``ko``)."""
        with _LIBRARY_LOCK:
            return self._lib.espeak_SetVoiceByName(voice.encode()) == _EE_OK

    def synthesize(self, text: str, voice: str | None = None, rate: int = 175, pitch: int = 50) -> Speech:
        """Speak ``text`` (UTF-8, plain text) with ``voice`` (None: :func:`pick_voice`).

        ``rate``: words per minute in :data:`RATE_RANGE`; ``pitch``: 0-100 (50 is the voice's own).
        """
        if not text.strip():
            raise SpeechError("text to speak is empty")
        if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
            raise ConfigError(f"rate={rate} words per minute is outside {list(RATE_RANGE)}")
        if not PITCH_RANGE[0] <= pitch <= PITCH_RANGE[1]:
            raise ConfigError(f"pitch={pitch} is outside {list(PITCH_RANGE)}")
        voice = pick_voice(text, voice, self.default_voice)
        text = text.replace("\0", " ")  # a NUL would end the C string early
        data = text.encode("utf-8")
        with _LIBRARY_LOCK:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
                raise SpeechError(
                    f"voice {voice!r} is not an installed espeak-ng voice (see espeak-ng --voices)"
                )
            self._lib.espeak_SetParameter(_PARAM_RATE, int(rate), 0)
            self._lib.espeak_SetParameter(_PARAM_PITCH, int(pitch), 0)
            self._pcm, self._events, self._phonemes = [], [], []
            self._lib.espeak_SetSynthCallback(self._callback)
            status = self._lib.espeak_Synth(
                data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            pcm, events, phoneme_events = self._pcm, self._events, self._phonemes
            self._pcm, self._events, self._phonemes = [], [], []
            marked = self._stress_marked_phonemes(data)
        if status != _EE_OK:
            raise SpeechError(f"espeak_Synth failed with status {status} for voice {voice!r}")
        native = np.concatenate(pcm).astype(np.float32) / 32768.0 if pcm else np.zeros(0, np.float32)
        audio = soxr.resample(native, self.native_rate, AUDIO_SAMPLE_RATE).astype(np.float32)
        np.clip(audio, -1.0, 1.0, out=audio)  # resampling may ring a hair past full scale
        # espeak's text_position is 1-based in characters; audio_position is in ms.
        words = time_words(text, [(pos - 1, ms / 1000.0) for pos, ms in events], audio)
        marks = parse_phonemes(marked, _PHONEME_SEP)
        stresses = stress_times(split_words(text), words, phoneme_events, marks)
        for w, stress in zip(words, stresses):
            w.stress = stress
        _log.debug("spoke %d words, %.2f s, voice %s", len(words), audio.size / AUDIO_SAMPLE_RATE, voice)
        return Speech(audio, words, voice, voice_language(voice))

    def _stress_marked_phonemes(self, data: bytes) -> str:
        """espeak's phoneme string (ASCII names separated by ``|``, stress marks, words by spaces) of
        the UTF-8 ``data``, clause by clause; call with the voice selected and the lock held."""
        buffer = ctypes.create_string_buffer(data)
        pointer = ctypes.c_void_p(ctypes.addressof(buffer))
        clauses = []
        while pointer.value:
            out = self._lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, ord(_PHONEME_SEP) << 8)
            if out is None:
                break
            clauses.append(out.decode("utf-8", errors="replace"))
        return " ".join(clauses)

    def _on_synth(self, wav: ctypes.Array, n_samples: int, events: ctypes.Array) -> int:
        """espeak's synth callback: collect PCM, word and phoneme events; return 0 to continue."""
        if n_samples > 0 and wav:
            self._pcm.append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_WORD:
                self._events.append((event.text_position, event.audio_position))
            elif event.type == _EVENT_PHONEME:
                name = event.id.string.decode("ascii", errors="replace")
                time = event.audio_position / 1000.0
                self._phonemes.append(PhonemeEvent(event.text_position - 1, time, name))
            i += 1
        return 0
