"""SayProgress: the bookkeeping of one say goal (feedback per word, stats, when it is over)."""

from __future__ import annotations

import numpy as np

from gesture_core import contracts as c
from gesture_core import skeleton
from gesture_core.speech.say import SayProgress

S = c.NS_PER_S
WORDS = [c.Word("one", 0.1, 0.4), c.Word("two", 0.5, 0.9), c.Word("three", 1.0, 1.5)]


def progress() -> SayProgress:
    p = SayProgress("tts-1", WORDS, n_samples=c.AUDIO_SAMPLE_RATE * 2)  # 2 s of speech
    p.started(10 * S)
    return p


def command(uid: str, stamp_ns: int, duration: float) -> c.JointCommand:
    return c.JointCommand(uid, stamp_ns, ["j"], [0.0, duration], [[0.0], [0.0]])


def test_feedback_names_each_word_once_in_order():
    p = progress()
    seen = [fb for t in np.arange(9.5, 12.0, 0.02) if (fb := p.feedback(round(t * S))) is not None]
    assert [(fb.index, fb.word) for fb in seen] == [(-1, ""), (0, "one"), (1, "two"), (2, "three")]
    assert seen[0].progress < 0.05 and 0.5 <= seen[-1].progress <= 0.55


def test_completes_when_the_rest_after_the_last_gesture_has_ended():
    p = progress()
    p.on_gesture(
        c.GestureSequence("tts-1", 10 * S, np.tile(skeleton.MEAN_DIR_VEC, (30, 1)), 0, ((0.5, "beat"),))
    )
    p.on_gesture(c.GestureSequence("other", 10 * S, np.tile(skeleton.MEAN_DIR_VEC, (5, 1))))
    p.on_trajectory(command("tts-1", 10 * S, 2.0))  # gestures until 12 s
    assert not p.finished(12 * S + S // 2)  # speech over, robot not yet at rest
    p.on_trajectory(command(c.REST_ID, 12 * S + S // 2, 0.9))  # after the hold, blend to rest until 13.4 s
    assert not p.finished(13 * S) and p.finished(13 * S + S // 2)
    r = p.result(13 * S + S // 2)
    assert (r.words_spoken, r.gesture_frames, r.gesture_strokes, r.trajectories) == (3, 30, 1, 1)
    assert r.spoken_duration == 2.0 and abs(r.motion_duration - 3.4) < 1e-9


def test_without_any_motion_the_speech_alone_decides_after_a_grace_time():
    p = progress()
    assert not p.finished(12 * S) and p.finished(14 * S)
    assert p.result(14 * S).motion_duration == 0.0


def test_cancel_ends_when_the_rest_command_after_it_has_ended():
    p = progress()
    p.on_trajectory(command("tts-1", 10 * S, 2.0))
    p.cancel(10 * S + S // 2)
    assert p.feedback(11 * S) is not None and p.feedback(11 * S + S // 2) is None  # frozen at the cancel
    p.on_trajectory(command(c.REST_ID, 10 * S + S // 2 + 10**7, 0.9))
    assert not p.finished(11 * S) and p.finished(11 * S + S // 2)
    r = p.result(11 * S + S // 2)
    assert r.spoken_duration == 0.5 and r.words_spoken == 2  # "one" and "two" had started by 0.5 s
