"""The speech input every audio consumer node shares: ``speech/utterance`` + ``speech/audio`` per utterance.

:class:`UtteranceInput` subscribes both topics on a node, decodes them with the contract decoders,
reassembles each utterance's audio with :class:`~gesture_core.speech.assembly.UtteranceAssembler`
and calls the node back: ``on_start(utt)`` when an utterance starts (it returns the node's state for
that utterance), ``on_audio(chunk_result, state)`` for every chunk and ``on_end(utt, state)`` when
it is complete (and ``on_cancel(event, state or None)`` when it is canceled): its ``end`` event
and all its audio have arrived (an ``end`` event handled before
the last queued chunks waits for them; audio that never comes is given up, zero-filled, once
nothing arrived for the utterance for ``end_timeout`` s of *service time*, see below). Bad messages (wrong sample rate, NaN audio, audio of an unknown utterance,
overlaps, far-off chunks, times far from the node's clock) are logged and dropped by the node's
guarded callbacks (:class:`~gesture_ros.ros_io.GestureNode`); repairs (gaps filled with silence,
utterances truncated at ``max_seconds`` or forgotten) are logged as warnings. The per-utterance
states are forgotten with their utterances, so memory stays bounded; an utterance whose
``on_start`` fails is dropped with it.

The utterance subscription is created first: when an event and a chunk are both waiting, the
executor serves the event first.

Service time: rclpy serves a due timer before waiting subscriptions, so after a long callback
(a slow first computation, say) a wall-clock timeout would give up on audio that is merely queued.
The timeout is therefore measured on a clock that advances by one timer period per timer call
(:data:`TICK_S`): a stalled node gets one tick, not the whole stall.
"""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

from gesture_core import contracts as c
from gesture_core.speech.assembly import ChunkResult, UtteranceAssembler, UtteranceAudio

from .ros_io import GestureNode, error_log, guard, msg_class

S = TypeVar("S")

#: Period of the timer that gives up on overdue audio (s); also the step of the service clock.
TICK_S = 0.25


class UtteranceInput(Generic[S]):
    """Subscribe ``speech/utterance`` and ``speech/audio`` on ``node``; see the module docstring.

    ``max_open``: utterances open at once; ``max_seconds``: audio kept per utterance (the node's
    :class:`~gesture_core.node_settings.InputSettings`); ``end_timeout``: service-time s without arrivals
    after which an ended utterance's missing audio is given up.
    """

    def __init__(
        self,
        node: GestureNode,
        on_start: Callable[[UtteranceAudio], S],
        on_audio: Callable[[ChunkResult, S], None],
        on_end: Callable[[UtteranceAudio, S], None],
        on_cancel: Callable[[c.UtteranceEvent, S | None], None] | None = None,
        max_open: int = 4,
        max_seconds: float = 600.0,
        end_timeout: float = 2.0,
    ):
        self._on_start, self._on_audio, self._on_end, self._on_cancel = on_start, on_audio, on_end, on_cancel
        self._node = node
        self._log = node.get_logger()
        self.assembler = UtteranceAssembler(
            max_open=max_open, max_seconds=max_seconds, end_timeout=end_timeout, on_note=error_log(node).warning
        )
        self._states: dict[str, S] = {}
        self._clock = 0.0  # service time, s (see the module docstring)
        node.create_subscription(msg_class(c.UTTERANCE), c.UTTERANCE.name, self._event, c.UTTERANCE.depth)
        node.create_subscription(msg_class(c.AUDIO), c.AUDIO.name, self._audio, c.AUDIO.depth)
        node.create_timer(TICK_S, self._tick)

    def _now_ns(self) -> int:
        return self._node.get_clock().now().nanoseconds

    def _event(self, msg: object) -> None:
        ev = c.decode_utterance(msg, self._now_ns())
        if ev.event == "start":
            utt = self.assembler.start(ev)
            open_ids = set(self.assembler.open_ids)
            self._states = {uid: s for uid, s in self._states.items() if uid in open_ids}
            try:
                self._states[ev.utterance_id] = self._on_start(utt)
            except Exception:
                self.assembler.cancel(c.UtteranceEvent(ev.utterance_id, "cancel", ev.start_ns, ev.source))
                raise
        elif ev.event == "cancel":
            dropped = self.assembler.cancel(ev)
            state = self._states.pop(ev.utterance_id, None)
            what = f"{dropped.duration:.2f} s of its audio dropped" if dropped is not None else "its audio was complete"
            self._log.info(f"{ev.utterance_id}: canceled ({what})")
            if self._on_cancel is not None:
                self._on_cancel(ev, state)
        elif (done := self.assembler.end(ev, self._clock)) is not None:
            self._finish(done)

    def _audio(self, msg: object) -> None:
        res = self.assembler.add(c.decode_audio(msg, self._now_ns()), self._clock)
        try:
            self._on_audio(res, self._states[res.utterance.utterance_id])
        finally:  # a failed on_audio still completes the utterance
            if res.completed:
                self._finish(res.utterance)

    def _tick(self) -> None:
        self._clock += TICK_S
        for utt in self.assembler.expire(self._clock):
            guard(self._node, self._finish, f"the end of utterance {utt.utterance_id}")(utt)

    def open_utterances(self) -> list[tuple[UtteranceAudio, S]]:
        """The utterances still open (their audio incomplete or their end not yet handled), each
        with the node's state of it."""
        opened = (self.assembler.get(uid) for uid in self.assembler.open_ids)
        return [(utt, self._states[utt.utterance_id]) for utt in opened if utt is not None and utt.utterance_id in self._states]

    def _finish(self, utt: UtteranceAudio) -> None:
        self._on_end(utt, self._states.pop(utt.utterance_id))
