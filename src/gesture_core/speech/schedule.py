"""Back-to-back scheduling of utterances on the ROS clock: start times, chunk stamps, pacing.

The speech source node pushes each utterance to speak (:class:`Utterance`) into a
:class:`SpeechSchedule` and calls :meth:`SpeechSchedule.step` from a timer with the current ROS
time; ``step`` returns the messages due now, in publishing order, as contract dataclasses:

1. :class:`~gesture_core.contracts.UtteranceEvent` ``start`` -- the utterance plays from
   ``start_ns = max(now + lead_time, end of the previous utterance)``;
2. :class:`~gesture_core.contracts.WordTimings` (final, source ``tts``) when the words are known;
3. :class:`~gesture_core.contracts.AudioChunk` s of ``chunk_ms``, stamped
   ``start_ns + offset / 16 kHz``, each published once it plays within ``publish_ahead`` s and
   while fewer than ``max_chunks_ahead`` published chunks are still to play (flow control: a
   subscriber that keeps up with real time never holds more than that many in its queue, whose
   depth, ``speech/audio``'s, is twice it);
4. the ``end`` event (with ``n_samples``) one step after the last chunk went out -- before the
   audio has finished playing when ``publish_ahead`` is large. The step between them lets a
   consumer take the last chunks before it sees the end, but messages on different topics are
   not ordered: consumers must still accept an end event that overtakes chunks.

Alongside, a :class:`PlayCue` says when an utterance's audio starts playing (for a loudspeaker).
An utterance waits in the queue until the previous one has played (its start event goes out
``lead_time`` before it plays). With ``real_time=False`` nothing waits: chunks go out at once and
utterances follow each other immediately; their stamps still lay them end to end on the timeline.
"""

from __future__ import annotations

import bisect
import secrets
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ..contracts import (
    AUDIO,
    AUDIO_SAMPLE_RATE,
    NS_PER_S,
    UTTERANCE_SOURCES,
    AudioChunk,
    UtteranceEvent,
    Word,
    WordTimings,
    validate_utterance_id,
)
from ..errors import ConfigError, ContractError
from .audio_io import chunk_audio


@dataclass(frozen=True)
class Pacing:
    """How utterances are laid on the timeline and published.

    - ``lead_time``: s from publishing an utterance's start event to its first sample playing.
    - ``chunk_ms``: audio per chunk, ms.
    - ``publish_ahead``: s; a chunk is published at most this long before it plays (large: the
      whole utterance at once, which gesture generation wants; small: paced like a live stream).
    - ``real_time``: False publishes as fast as possible (no waiting for play times).
    - ``max_chunks_per_step``: publishing burst limit, so a long utterance does not overrun the
      subscribers' queues in one go.
    - ``max_chunks_ahead``: most chunks published and not yet played (real time only): a burst
      never exceeds what a subscriber queue of depth ``AUDIO.depth`` holds.
    """

    lead_time: float = 0.3
    chunk_ms: float = 100.0
    publish_ahead: float = 30.0
    real_time: bool = True
    max_chunks_per_step: int = 50
    max_chunks_ahead: int = AUDIO.depth // 2

    def __post_init__(self) -> None:
        if not 0.0 <= self.lead_time <= 60.0:
            raise ConfigError(f"lead_time must be in [0, 60] s, got {self.lead_time}")
        if not 1.0 <= self.chunk_ms <= 10_000.0:
            raise ConfigError(f"chunk_ms must be in [1, 10000] ms, got {self.chunk_ms}")
        if not self.publish_ahead >= 0.0:
            raise ConfigError(f"publish_ahead must be >= 0 s, got {self.publish_ahead}")
        if self.max_chunks_per_step < 1:
            raise ConfigError(f"max_chunks_per_step must be >= 1, got {self.max_chunks_per_step}")
        if self.max_chunks_ahead < 1:
            raise ConfigError(f"max_chunks_ahead must be >= 1, got {self.max_chunks_ahead}")

    @property
    def chunk_samples(self) -> int:
        return max(1, int(round(self.chunk_ms * AUDIO_SAMPLE_RATE / 1000.0)))


@dataclass
class Utterance:
    """Something to speak: ``audio`` (N,) float32 16 kHz; ``words`` (s from the first sample) when
    known (TTS), else None (ASR will find them); ``source`` is ``tts`` | ``file`` | ``mic``."""

    utterance_id: str
    source: str
    audio: np.ndarray
    text: str | None = None
    language: str | None = None
    words: list[Word] | None = None

    def __post_init__(self) -> None:
        validate_utterance_id(self.utterance_id)
        if self.source not in UTTERANCE_SOURCES:
            raise ContractError(f"utterance source must be one of {UTTERANCE_SOURCES}, got {self.source!r}")
        self.audio = np.asarray(self.audio, dtype=np.float32)
        if self.audio.ndim != 1:
            raise ContractError(f"utterance audio must be (N,), got shape {self.audio.shape}")

    @property
    def duration_ns(self) -> int:
        return samples_to_ns(self.audio.size)


@dataclass
class PlayCue:
    """Start playing ``audio`` of ``utterance_id`` now."""

    utterance_id: str
    audio: np.ndarray


def samples_to_ns(n_samples: int) -> int:
    """Duration of ``n_samples`` at 16 kHz in integer ns (exact: 62 500 ns per sample)."""
    return n_samples * NS_PER_S // AUDIO_SAMPLE_RATE


def new_utterance_id(prefix: str, counter: int) -> str:
    """A unique utterance id such as ``tts-3-9f2c``: prefix, a counter and a random suffix (so ids
    of a restarted node don't repeat)."""
    return validate_utterance_id(f"{prefix}-{counter}-{secrets.token_hex(2)}")


@dataclass
class _Active:
    start: UtteranceEvent
    chunks: list[AudioChunk]
    n_samples: int
    next_chunk: int = 0
    stamps: list[int] = field(init=False)  # of the chunks, increasing

    def __post_init__(self) -> None:
        self.stamps = [ch.stamp_ns for ch in self.chunks]


Message = UtteranceEvent | WordTimings | AudioChunk | PlayCue


class SpeechSchedule:
    """A FIFO of utterances spoken back to back (see the module docstring)."""

    def __init__(self) -> None:
        self._pending: deque[Utterance] = deque()
        self._active: _Active | None = None
        self._cues: deque[tuple[int, PlayCue]] = deque()
        self._timeline_end_ns = 0
        self._begun: tuple[UtteranceEvent, int] | None = None  # the last utterance begun, its end (ns)

    def push(self, utterance: Utterance) -> int:
        """Queue ``utterance``; returns how many utterances wait or publish ahead of it."""
        ahead = len(self._pending) + (self._active is not None)
        self._pending.append(utterance)
        return ahead

    @property
    def timeline_end_ns(self) -> int:
        """ROS time (ns) at which the last scheduled utterance finishes playing."""
        return self._timeline_end_ns

    def idle(self, now_ns: int) -> bool:
        """True when nothing is queued, being published or still playing at ``now_ns``."""
        return not self._pending and self._active is None and now_ns >= self._timeline_end_ns

    def cancel(self, utterance_id: str, now_ns: int) -> list[Message]:
        """Stop ``utterance_id`` at ROS time ``now_ns``: a queued one is forgotten (nothing of it was
        published: returns []); one that has begun and not yet finished playing loses its unpublished
        chunks and its play cue, the timeline ends now, and the ``cancel`` event to publish is
        returned. An utterance that has finished or is unknown: []."""
        for utt in self._pending:
            if utt.utterance_id == utterance_id:
                self._pending.remove(utt)
                return []
        if self._begun is None or self._begun[0].utterance_id != utterance_id or now_ns >= self._begun[1]:
            return []
        s = self._begun[0]
        self._begun = None
        if self._active is not None and self._active.start.utterance_id == utterance_id:
            self._active = None
        self._cues = deque(cue for cue in self._cues if cue[1].utterance_id != utterance_id)
        self._timeline_end_ns = now_ns
        return [UtteranceEvent(s.utterance_id, "cancel", s.start_ns, s.source, s.text, s.language, s.words_known)]

    def step(self, now_ns: int, pacing: Pacing) -> list[Message]:
        """The messages due at ROS time ``now_ns``, in publishing order."""
        out: list[Message] = []
        lead_ns = int(round(pacing.lead_time * NS_PER_S))
        if self._active is None and self._pending:
            if not pacing.real_time or now_ns + lead_ns >= self._timeline_end_ns:
                out += self._begin(self._pending.popleft(), now_ns, lead_ns, pacing)
        if self._active is not None:
            out += self._due_chunks(now_ns, pacing)
        if not pacing.real_time:
            self._cues.clear()
        while self._cues and self._cues[0][0] <= now_ns:
            out.append(self._cues.popleft()[1])
        return out

    def _begin(self, utt: Utterance, now_ns: int, lead_ns: int, pacing: Pacing) -> list[Message]:
        start_ns = max(now_ns + lead_ns, self._timeline_end_ns)
        self._timeline_end_ns = start_ns + utt.duration_ns
        start = UtteranceEvent(
            utt.utterance_id,
            "start",
            start_ns,
            utt.source,
            utt.text,
            utt.language,
            words_known=utt.words is not None,
        )
        chunks = [
            AudioChunk(utt.utterance_id, start_ns + samples_to_ns(offset), samples, offset)
            for offset, samples in chunk_audio(utt.audio, pacing.chunk_samples)
        ]
        self._active = _Active(start, chunks, utt.audio.size)
        self._begun = (start, self._timeline_end_ns)
        if pacing.real_time:
            self._cues.append((start_ns, PlayCue(utt.utterance_id, utt.audio)))
        out: list[Message] = [start]
        if utt.words is not None:
            out.append(WordTimings(utt.utterance_id, list(utt.words), final=True, source="tts"))
        return out

    def _due_chunks(self, now_ns: int, pacing: Pacing) -> list[Message]:
        act = self._active
        assert act is not None
        if act.next_chunk == len(act.chunks):  # every chunk went out in an earlier step
            s = act.start
            self._active = None
            return [UtteranceEvent(s.utterance_id, "end", s.start_ns, s.source, s.text, s.language,
                                   s.words_known, n_samples=act.n_samples)]  # fmt: skip
        horizon = now_ns + int(round(pacing.publish_ahead * NS_PER_S)) if pacing.real_time else None
        # chunks [played, next_chunk) are published and still to play (stamps increase)
        played = bisect.bisect_right(act.stamps, now_ns, 0, act.next_chunk)
        out: list[Message] = []
        while act.next_chunk < len(act.chunks) and len(out) < pacing.max_chunks_per_step:
            chunk = act.chunks[act.next_chunk]
            if horizon is not None and chunk.stamp_ns > horizon:
                break
            if horizon is not None and act.next_chunk - played >= pacing.max_chunks_ahead:
                break
            out.append(chunk)
            act.next_chunk += 1
        return out
