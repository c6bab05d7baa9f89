"""Progress of one ``say`` goal: which word is being spoken, what was gestured, when the robot rests.

The speech source node makes a :class:`SayProgress` per accepted goal of the ``say`` action
(``gesture_msgs/action/Say``) and feeds it what it sees on the graph: the utterance's start time
(its own start event), the human gesture sequences and the robot trajectories of the utterance,
and the rest commands that follow. From a timer it asks :meth:`SayProgress.feedback` for the word
being spoken (a new value only when the word changes, so the client gets each word once, in
order) and :meth:`SayProgress.finished` whether the goal is over:

- **completed** once the speech has played and the robot is back at rest: the retargeter's rest
  command after the utterance's last gesture has ended, or another utterance's motion has taken
  over. With no gesture for the utterance within ``no_motion_s`` after the speech (no generator or
  retargeter running), the speech alone decides.
- **canceled** (:meth:`cancel`): the speech stops at once; the goal is over when the rest command
  that the retargeter sends for the canceled utterance has ended (the robot is back at rest), or
  ``no_motion_s`` after the cancel if none comes (nothing was moving).

Times are ROS times in integer nanoseconds; word times are seconds from the utterance start.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..contracts import AUDIO_SAMPLE_RATE, NS_PER_S, REST_ID, GestureSequence, JointCommand, Word

#: Seconds to wait for motion that may never come (no generator or retargeter on the graph).
NO_MOTION_S = 2.0


@dataclass(frozen=True)
class SayFeedback:
    """The word being spoken (``index`` -1 and ``word`` "" before the first) and the part played, 0..1."""

    index: int
    word: str
    progress: float


@dataclass(frozen=True)
class SayResult:
    """What a goal did: speech played (s), words whose start was played, gesture frames and strokes
    generated, robot trajectories commanded, and s from the utterance start until the robot rested."""

    spoken_duration: float
    words_spoken: int
    gesture_frames: int
    gesture_strokes: int
    trajectories: int
    motion_duration: float


@dataclass
class SayProgress:
    """One goal's utterance: ``words`` (s from its start) and ``n_samples`` of 16 kHz audio."""

    utterance_id: str
    words: list[Word]
    n_samples: int
    no_motion_s: float = NO_MOTION_S
    start_ns: int | None = None  # set when the utterance's start event goes out
    canceled_ns: int | None = None
    gesture_frames: int = 0
    strokes: set[tuple[float, str]] = field(default_factory=set)
    trajectories: int = 0
    _motion_end_ns: int | None = None  # end of this utterance's last commanded gesture
    _rested_ns: int | None = None  # end of the rest (or next) motion that followed it
    _last_index: int | None = None

    @property
    def duration_ns(self) -> int:
        return self.n_samples * NS_PER_S // AUDIO_SAMPLE_RATE

    def started(self, start_ns: int) -> None:
        self.start_ns = start_ns

    def spoken_s(self, now_ns: int) -> float:
        """Seconds of the utterance played by ``now_ns`` (until the cancel, if canceled)."""
        if self.start_ns is None:
            return 0.0
        end = now_ns if self.canceled_ns is None else min(now_ns, self.canceled_ns)
        return min(max(0, end - self.start_ns), self.duration_ns) / NS_PER_S

    # -- what the graph did ------------------------------------------------------------------------

    def on_gesture(self, seq: GestureSequence) -> None:
        if seq.utterance_id == self.utterance_id:
            self.gesture_frames += len(seq.poses)
            self.strokes.update(seq.strokes)

    def on_trajectory(self, cmd: JointCommand) -> None:
        end = cmd.stamp_ns + round(float(cmd.times[-1]) * NS_PER_S)
        if cmd.utterance_id == self.utterance_id:
            self.trajectories += 1
            self._motion_end_ns = max(end, self._motion_end_ns or 0)
            self._rested_ns = None  # a later window of the utterance: wait for the rest after it
        elif self._rest_follows(cmd):
            self._rested_ns = end if cmd.utterance_id == REST_ID else cmd.stamp_ns

    def _rest_follows(self, cmd: JointCommand) -> bool:
        """``cmd`` (a rest command or another utterance's motion) ends this utterance's motion."""
        if self.canceled_ns is not None:
            return cmd.utterance_id == REST_ID and cmd.stamp_ns >= self.canceled_ns - NS_PER_S // 10
        return self._motion_end_ns is not None and cmd.stamp_ns >= self._motion_end_ns - NS_PER_S // 10

    def cancel(self, now_ns: int) -> None:
        if self.canceled_ns is None:
            self.canceled_ns = now_ns
            self._rested_ns = None

    # -- what the client gets ----------------------------------------------------------------------

    def feedback(self, now_ns: int) -> SayFeedback | None:
        """The word being spoken at ``now_ns`` when it changed since the last call, else None."""
        if self.start_ns is None or now_ns < self.start_ns:
            return None
        spoken = self.spoken_s(now_ns)
        index = sum(1 for w in self.words if w.start <= spoken) - 1
        if index == self._last_index:
            return None
        self._last_index = index
        progress = spoken * NS_PER_S / self.duration_ns if self.duration_ns else 1.0
        return SayFeedback(index, self.words[index].word if index >= 0 else "", min(1.0, progress))

    def finished(self, now_ns: int) -> bool:
        """True when the goal is over at ``now_ns`` (see the module docstring)."""
        wait = round(self.no_motion_s * NS_PER_S)
        if self.canceled_ns is not None:
            rested = self._rested_ns is not None and now_ns >= self._rested_ns
            return rested or (self._rested_ns is None and now_ns >= self.canceled_ns + wait)
        if self.start_ns is None or now_ns < self.start_ns + self.duration_ns:
            return False
        if self._motion_end_ns is None:
            return now_ns >= self.start_ns + self.duration_ns + wait
        return self._rested_ns is not None and now_ns >= self._rested_ns

    def result(self, now_ns: int) -> SayResult:
        spoken = self.spoken_s(now_ns)
        rested = self._rested_ns if self._rested_ns is not None else self._motion_end_ns
        motion = 0.0 if rested is None or self.start_ns is None else max(0, rested - self.start_ns) / NS_PER_S
        return SayResult(
            spoken_duration=spoken,
            words_spoken=sum(1 for w in self.words if w.start <= spoken),
            gesture_frames=self.gesture_frames,
            gesture_strokes=len(self.strokes),
            trajectories=self.trajectories,
            motion_duration=motion,
        )
