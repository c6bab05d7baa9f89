"""Reassemble the audio of utterances from ``speech/utterance`` events and ``speech/audio`` chunks.

Every node that consumes speech audio (ASR, audio features, the gesture generator) needs the same
thing: a contiguous waveform per utterance id, built from chunks placed by the index of their first
sample (:attr:`~gesture_core.contracts.AudioChunk.first_sample`), with missing or repeated audio
detected. :class:`UtteranceAssembler` does that, ROS-free:

- ``start`` opens an utterance; audio for an id that was never started is rejected.
- A chunk must continue where the audio so far ends. A chunk that starts *later* leaves a gap: a
  gap of at most ``max_gap_s`` is filled with zeros (silence) and reported through ``on_note``, so
  one lost message does not ruin the rest of the utterance; a chunk further away is rejected
  (:class:`~gesture_core.errors.ContractError`): no work proportional to a far-off index. A chunk
  that starts *earlier* overlaps audio already received and is rejected. Offsets within
  ``tolerance`` samples of the expected one (nanosecond rounding of stamps) count as contiguous.
- ``end`` completes the utterance once all its ``n_samples`` have arrived. Events and audio travel
  on different topics, so the ``end`` event may be handled while the last chunks are still queued:
  the utterance then stays open and completes with the chunk that brings the last sample
  (:attr:`ChunkResult.completed`). If that audio never comes, :meth:`UtteranceAssembler.expire`
  completes it once neither its ``end`` event nor any of its chunks arrived for ``end_timeout``
  seconds (a busy consumer still draining its queue keeps the utterance alive), a missing tail of
  at most ``max_gap_s`` zero-filled, a longer one left out, and reported. Audio beyond
  ``n_samples`` is kept and reported. Times (``now``) are seconds on any monotonic clock, the same
  for :meth:`~UtteranceAssembler.add`, ``end`` and ``expire``.
- ``cancel`` forgets an open utterance as it is (its later chunks are rejected as ended).
- Memory and work are bounded: at most ``max_open`` utterances are open at once (the oldest is
  forgotten, reported) and each holds at most ``max_seconds`` of audio: an utterance that reaches
  it is **truncated** there and completed at once (reported once; its later chunks and its end
  event are dropped as those of an ended utterance), and an ``end`` event announcing more is taken
  as announcing ``max_seconds``. Ended utterances are forgotten immediately; their ids are
  remembered (a bounded list) only to explain late chunks.

Errors raise :class:`~gesture_core.errors.ContractError` (the node logs it and drops the message);
repairs go to ``on_note`` (default: this module's logger at warning level).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..contracts import AUDIO_SAMPLE_RATE, AudioChunk, UtteranceEvent
from ..errors import ConfigError, ContractError

_log = logging.getLogger(__name__)


class UtteranceAudio:
    """The audio of one utterance received so far.

    ``audio``: (n_samples,) float32 view at 16 kHz, sample 0 plays at ``start.start_ns``.
    ``end`` is the ``end`` event once received (the utterance may still wait for audio), else None;
    ``complete`` tells that all of it is here; ``truncated`` that it reached ``max_samples`` and
    the rest was dropped. ``notes`` lists every repair made to this utterance's audio (gaps filled,
    tail padded, truncation), in order.
    """

    def __init__(self, start: UtteranceEvent, max_samples: int):
        self.start = start
        self.end: UtteranceEvent | None = None
        self.complete = False
        self.truncated = False
        self.notes: list[str] = []
        self.last_arrival = 0.0  # monotonic s of the last chunk or end event
        self._max_samples = max_samples
        self._buf = np.zeros(AUDIO_SAMPLE_RATE, dtype=np.float32)  # grows by doubling
        self._n = 0

    @property
    def utterance_id(self) -> str:
        return self.start.utterance_id

    @property
    def n_samples(self) -> int:
        return self._n

    @property
    def duration(self) -> float:
        """Seconds of audio received so far."""
        return self._n / AUDIO_SAMPLE_RATE

    @property
    def audio(self) -> np.ndarray:
        """(n_samples,) float32 waveform; a view, valid until more audio is appended."""
        return self._buf[: self._n]

    @property
    def max_samples(self) -> int:
        """The most samples this utterance keeps."""
        return self._max_samples

    def _append(self, samples: np.ndarray, gap: int) -> None:
        """Append ``gap`` zeros then ``samples``; the caller keeps the total within ``max_samples``."""
        n_new = self._n + gap + samples.size
        assert n_new <= self._max_samples, "UtteranceAssembler cuts audio at max_samples"
        if n_new > self._buf.size:
            grown = np.zeros(max(n_new, 2 * self._buf.size), dtype=np.float32)
            grown[: self._n] = self._buf[: self._n]
            self._buf = grown
        self._buf[self._n : self._n + gap] = 0.0
        self._buf[self._n + gap : n_new] = samples
        self._n = n_new


@dataclass
class ChunkResult:
    """Where a chunk went: samples ``[start, stop)`` of ``utterance.audio`` are new.

    ``start`` is where the new audio begins, including ``gap`` zero samples filled before the
    chunk's own samples (``gap`` is 0 for a contiguous chunk). ``completed``: this chunk brought
    the last sample of an utterance whose ``end`` event came first; the utterance is now complete.
    """

    utterance: UtteranceAudio
    start: int
    stop: int
    gap: int = 0
    completed: bool = False


@dataclass
class UtteranceAssembler:
    """Turns utterance events and audio chunks into per-utterance contiguous waveforms.

    ``max_open``: utterances open at once; ``max_seconds``: audio per utterance;
    ``tolerance``: offset error (samples) still treated as contiguous; ``end_timeout``: seconds
    to wait, after an ``end`` event, for audio still missing; ``max_gap_s``: the longest run of
    missing audio (between chunks, or at the end) filled with silence; ``on_note``: receives one
    line per repair (gap filled, tail padded, utterance truncated or forgotten).
    """

    max_open: int = 4
    max_seconds: float = 600.0
    tolerance: int = 1
    end_timeout: float = 2.0
    max_gap_s: float = 5.0
    on_note: Callable[[str], None] = field(default=_log.warning)
    _open: OrderedDict[str, UtteranceAudio] = field(default_factory=OrderedDict, init=False, repr=False)
    _ended: deque[str] = field(default_factory=lambda: deque(maxlen=256), init=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_open < 1:
            raise ConfigError(f"max_open must be >= 1, got {self.max_open}")
        if not self.max_seconds > 0:
            raise ConfigError(f"max_seconds must be > 0, got {self.max_seconds}")
        if self.tolerance < 0:
            raise ConfigError(f"tolerance must be >= 0, got {self.tolerance}")
        if not self.end_timeout >= 0:
            raise ConfigError(f"end_timeout must be >= 0, got {self.end_timeout}")
        if not self.max_gap_s >= 0:
            raise ConfigError(f"max_gap_s must be >= 0, got {self.max_gap_s}")

    @property
    def max_gap(self) -> int:
        """The longest gap filled with silence, samples."""
        return int(self.max_gap_s * AUDIO_SAMPLE_RATE)

    # -- events ---------------------------------------------------------------------------------

    def event(self, ev: UtteranceEvent, now: float | None = None) -> UtteranceAudio | None:
        """Dispatch a decoded ``speech/utterance`` event to :meth:`start`, :meth:`end` or :meth:`cancel`."""
        if ev.event == "cancel":
            return self.cancel(ev)
        return self.start(ev) if ev.event == "start" else self.end(ev, now)

    def cancel(self, ev: UtteranceEvent) -> UtteranceAudio | None:
        """Forget the open utterance of a ``cancel`` event, incomplete as it is, and return it;
        None when it is not open (complete already, or unknown): nothing to drop then."""
        if ev.event != "cancel":
            raise ContractError(f"utterance {ev.utterance_id!r}: expected a 'cancel' event, got {ev.event!r}")
        utt = self._open.pop(ev.utterance_id, None)
        if utt is not None:
            self._ended.append(ev.utterance_id)
        return utt

    def start(self, ev: UtteranceEvent) -> UtteranceAudio:
        """Open utterance ``ev.utterance_id``; returns its (empty) audio."""
        uid = ev.utterance_id
        if ev.event != "start":
            raise ContractError(f"utterance {uid!r}: expected a 'start' event, got {ev.event!r}")
        if uid in self._open or uid in self._ended:
            raise ContractError(f"utterance {uid!r} was already started; ids must be unique")
        while len(self._open) >= self.max_open:
            old_id, old = self._open.popitem(last=False)
            self._ended.append(old_id)
            self.on_note(
                f"forgot utterance {old_id!r} ({old.duration:.2f} s of audio, no end event) "
                f"to keep at most {self.max_open} open"
            )
        utt = UtteranceAudio(ev, max_samples=int(self.max_seconds * AUDIO_SAMPLE_RATE))
        self._open[uid] = utt
        return utt

    def end(self, ev: UtteranceEvent, now: float | None = None) -> UtteranceAudio | None:
        """Take the ``end`` event of an utterance; returns it if complete, None while audio is missing.

        ``now``: monotonic seconds (default ``time.monotonic()``), for :meth:`expire`.
        """
        if ev.event != "end":
            raise ContractError(f"utterance {ev.utterance_id!r}: expected an 'end' event, got {ev.event!r}")
        utt = self._get(ev.utterance_id)
        if utt.end is not None:
            raise ContractError(f"utterance {ev.utterance_id!r} already has an end event")
        if ev.start_ns != utt.start.start_ns:
            raise ContractError(
                f"utterance {ev.utterance_id!r}: end event start_ns {ev.start_ns} != start event's "
                f"{utt.start.start_ns}"
            )
        utt.end = ev
        utt.last_arrival = time.monotonic() if now is None else now
        if ev.n_samples is not None and ev.n_samples > utt.max_samples:
            self._note(
                utt,
                f"utterance {utt.utterance_id!r}: its end event announces {ev.n_samples / AUDIO_SAMPLE_RATE:.1f} s "
                f"of audio; only the first {utt.max_samples / AUDIO_SAMPLE_RATE:g} s are kept",
            )
        return self._complete(utt) if utt.n_samples >= self._expected(utt) else None

    def expire(self, now: float | None = None) -> list[UtteranceAudio]:
        """Complete (tail zero-filled) the ended utterances with no arrival for ``end_timeout`` s at ``now``."""
        now = time.monotonic() if now is None else now
        due = [u for u in self._open.values() if u.end is not None and now >= u.last_arrival + self.end_timeout]
        return [self._complete(u) for u in due]

    # -- audio ----------------------------------------------------------------------------------

    def add(self, chunk: AudioChunk, now: float | None = None) -> ChunkResult:
        """Append ``chunk`` to its utterance at its ``first_sample``.

        ``now``: monotonic seconds (default ``time.monotonic()``), for :meth:`expire`.
        """
        utt = self._get(chunk.utterance_id)
        offset = chunk.first_sample
        expected = utt.n_samples
        if abs(offset - expected) <= self.tolerance:
            offset = expected
        if offset < expected:
            raise ContractError(
                f"utterance {utt.utterance_id!r}: chunk at sample {offset} overlaps audio already received "
                f"up to sample {expected} (repeated or out-of-order chunk)"
            )
        gap = offset - expected
        if gap > self.max_gap:
            raise ContractError(
                f"utterance {utt.utterance_id!r}: chunk at sample {offset} leaves a gap of {gap / AUDIO_SAMPLE_RATE:.2f} s "
                f"after the audio so far (sample {expected}); gaps of at most {self.max_gap_s:g} s are filled"
            )
        samples = np.asarray(chunk.samples, dtype=np.float32)
        room = utt.max_samples - expected
        cut = gap + samples.size > room
        if cut:
            gap = min(gap, room)
            samples = samples[: room - gap]
        utt._append(samples, gap)
        utt.last_arrival = time.monotonic() if now is None else now
        if gap:
            self._note(
                utt,
                f"utterance {utt.utterance_id!r}: gap of {gap} samples ({gap / AUDIO_SAMPLE_RATE * 1e3:.1f} ms) "
                f"before sample {offset}, filled with silence",
            )
        if cut or (utt.n_samples >= utt.max_samples and utt.end is None):
            utt.truncated = True
            self._note(
                utt,
                f"utterance {utt.utterance_id!r} reached {utt.max_samples / AUDIO_SAMPLE_RATE:g} s, the longest kept: "
                f"truncated there and complete; the rest of its audio is dropped",
            )
        full = utt.n_samples >= utt.max_samples  # nothing more can be kept: complete now
        completed = full or (utt.end is not None and utt.n_samples >= self._expected(utt))
        if completed:
            self._complete(utt)
        return ChunkResult(utt, expected, utt.n_samples, gap, completed)

    def get(self, utterance_id: str) -> UtteranceAudio | None:
        """The open utterance ``utterance_id``, or None."""
        return self._open.get(utterance_id)

    @property
    def open_ids(self) -> list[str]:
        """Ids of the open utterances, oldest first."""
        return list(self._open)

    # -- helpers --------------------------------------------------------------------------------

    def _get(self, uid: str) -> UtteranceAudio:
        utt = self._open.get(uid)
        if utt is not None:
            return utt
        if uid in self._ended:
            raise ContractError(f"utterance {uid!r} has already ended (or was forgotten); message dropped")
        raise ContractError(f"unknown utterance {uid!r}: no 'start' event received for it")

    @staticmethod
    def _expected(utt: UtteranceAudio) -> int:
        """Total samples the utterance will have: its end event's ``n_samples`` (at most
        ``max_samples``); what it has when it was truncated or has no end event."""
        if utt.truncated or utt.end is None or utt.end.n_samples is None:
            return utt.n_samples
        return min(utt.end.n_samples, utt.max_samples)

    def _complete(self, utt: UtteranceAudio) -> UtteranceAudio:
        """Mark ``utt`` complete (a missing tail of at most ``max_gap`` zero-filled) and forget it."""
        missing = self._expected(utt) - utt.n_samples
        if 0 < missing <= self.max_gap:
            utt._append(np.zeros(0, np.float32), gap=missing)
            self._note(utt, f"utterance {utt.utterance_id!r}: {missing} samples missing at the end, filled with silence")
        elif missing > 0:
            self._note(
                utt,
                f"utterance {utt.utterance_id!r}: {missing / AUDIO_SAMPLE_RATE:.2f} s missing at the end, more than "
                f"the {self.max_gap_s:g} s filled with silence: it ends after the {utt.duration:.2f} s received",
            )
        elif missing < 0:
            self._note(
                utt, f"utterance {utt.utterance_id!r}: received {-missing} samples more than its end event's n_samples"
            )
        utt.complete = True
        del self._open[utt.utterance_id]
        self._ended.append(utt.utterance_id)
        return utt

    def _note(self, utt: UtteranceAudio, text: str) -> None:
        utt.notes.append(text)
        self.on_note(text)
