"""The ``say`` action, as a client uses it: speech source (espeak-ng), gesture generator, retargeter
and MuJoCo sim as real processes over DDS, and an rclpy ActionClient.

One goal is canceled mid-sentence: its audio stops (the rest of the utterance is never published)
and the simulated robot is back at rest within the retargeter's rest_blend_time + 0.2 s of the
cancel request. Another goal completes: every word comes as feedback, in order, and the result
arrives once the robot is at rest, with the gestures it made.

Pacing: audio goes out 2.5 s ahead of playback and the generator streams 2 s windows, so gestures
are on time while the audio of a long sentence is still being published when it is canceled.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from gesture_core import contracts as c
from gesture_core.retarget.config import default_config_path, load_config
from gesture_core.speech.word_timing import split_words

pytestmark = [pytest.mark.ros, pytest.mark.slow]
msgs = pytest.importorskip("gesture_msgs.msg")
Say = pytest.importorskip("gesture_msgs.action").Say
JointState = pytest.importorskip("sensor_msgs.msg").JointState

CFG = load_config(default_config_path())
LONG = (
    "Good morning everyone, today I will tell you a long story about robots that learned to move "
    "their arms and heads while they talk, just like the people around them do every day."
)
SHORT = "Thank you for listening to me."
#: The robot counts as at rest within this of the start-up rest posture (rad, worst joint).
AT_REST = 0.03
TIMEOUT = 90.0


class Client:
    """The action client plus what it observes on the graph: feedback, audio, events, joint states."""

    def __init__(self, ros):
        from rclpy.action import ActionClient

        self.ros = ros
        self.action = ActionClient(ros.node, Say, c.SAY_ACTION.name)
        self.feedback: dict[str, list] = defaultdict(list)
        self.samples: dict[str, int] = defaultdict(int)
        self.events: list[c.UtteranceEvent] = []
        self.states: list[tuple[int, np.ndarray]] = []
        node = ros.node
        node.create_subscription(msgs.AudioChunk, c.AUDIO.name, self._on_audio, c.AUDIO.depth)
        node.create_subscription(
            msgs.UtteranceEvent, c.UTTERANCE.name, lambda m: self.events.append(c.decode_utterance(m)), 50
        )
        node.create_subscription(JointState, c.JOINT_STATES.name, self._on_state, 200)

    def _on_audio(self, msg) -> None:
        chunk = c.decode_audio(msg)
        self.samples[chunk.utterance_id] += chunk.samples.size

    def _on_state(self, msg) -> None:
        by_name = dict(zip(msg.name, msg.position))
        self.states.append((c.stamp_to_ns(msg.header.stamp), np.array([by_name[n] for n in CFG.joint_names])))

    def send(self, text: str):
        """Send a goal; returns its accepted goal handle."""
        future = self.action.send_goal_async(
            Say.Goal(text=text),
            feedback_callback=lambda fb: self.feedback[fb.feedback.utterance_id].append(fb.feedback),
        )
        self.ros.spin_until(future.done, TIMEOUT, "the goal's acceptance")
        handle = future.result()
        assert handle.accepted
        return handle

    def result(self, handle):
        future = handle.get_result_async()
        self.ros.spin_until(future.done, TIMEOUT, "the goal's result")
        return future.result()

    def now(self) -> int:
        return self.ros.node.get_clock().now().nanoseconds

    def posture_at(self, t_ns: int) -> np.ndarray:
        """The measured joint positions of the first joint state at or after ``t_ns``."""
        self.ros.spin_until(lambda: self.states and self.states[-1][0] >= t_ns, TIMEOUT, "joint states")
        return next(q for t, q in self.states if t >= t_ns)


def test_say_goal_feedback_cancel_and_completion(ros):
    client = Client(ros)
    ros.start("gesture_ros.sim_node", {"render": False})
    ros.start("gesture_ros.retarget_node")
    ros.start("gesture_ros.generator_node", {"streaming": True})
    ros.start("gesture_ros.speech_source_node", {"mode": "tts", "lead_time": 1.0, "publish_ahead": 2.5})
    ros.spin_until(lambda: client.action.server_is_ready(), TIMEOUT, "the say action server")
    ros.wait_for_publishers(c.HUMAN_POSE.name, timeout=TIMEOUT)
    ros.spin_until(lambda: len(client.states) > 0, TIMEOUT, "joint states")
    ros.spin_for(CFG.rest_blend_time + 1.0)  # the start-up rest command has been executed
    rest = client.states[-1][1]

    # A long sentence, canceled mid-sentence.
    handle = client.send(LONG)
    ros.spin_until(lambda: any(fb.word_index >= 8 for fbs in client.feedback.values() for fb in fbs), TIMEOUT,
                   "feedback of the ninth word")  # fmt: skip
    (uid,) = client.feedback
    canceled_at = client.now()
    moving = np.abs(client.posture_at(canceled_at) - rest).max()
    cancel = handle.cancel_goal_async()
    ros.spin_until(cancel.done, TIMEOUT, "the cancel response")
    result = client.result(handle)
    from action_msgs.msg import GoalStatus

    assert result.status == GoalStatus.STATUS_CANCELED
    assert result.result.utterance_id == uid
    assert 0 < result.result.spoken_duration < 6.0 and result.result.trajectories >= 1
    ended = [e for e in client.events if e.utterance_id == uid and e.event != "start"]
    assert [e.event for e in ended] == ["cancel"]  # no end event: the utterance was stopped
    fbs = client.feedback[uid]
    assert [fb.word_index for fb in fbs] == sorted({fb.word_index for fb in fbs})  # in order, each once
    words = [w.text for w in split_words(LONG)]
    spoken = [fb for fb in fbs if fb.word]
    assert [fb.word for fb in spoken] == [words[fb.word_index] for fb in spoken] and spoken[
        -1
    ].word_index >= 8
    assert all(fb.word_count == len(words) for fb in fbs)

    # audio stopped: what was not yet published never is (2.5 s ahead of playback), robot at rest in time
    ros.spin_for(1.0)
    published_s = client.samples[uid] / c.AUDIO_SAMPLE_RATE
    assert published_s < result.result.spoken_duration + 2.5 + 0.3
    assert result.result.spoken_duration < (canceled_at - ended[0].start_ns) / c.NS_PER_S + 0.3
    assert moving > 0.05, f"the robot was not gesturing when the goal was canceled ({moving:.3f} rad)"
    deadline = canceled_at + round((CFG.rest_blend_time + 0.2) * c.NS_PER_S)
    off = np.abs(client.posture_at(deadline) - rest).max()
    assert off < AT_REST, f"{off:.3f} rad from rest {CFG.rest_blend_time + 0.2:.1f} s after the cancel"

    # A short sentence, completed.
    handle = client.send(SHORT)
    result = client.result(handle)
    assert result.status == GoalStatus.STATUS_SUCCEEDED
    r = result.result
    fbs = client.feedback[r.utterance_id]
    assert [fb.word for fb in fbs] == [w.text for w in split_words(SHORT)] and fbs[-1].word_count == 6
    assert [fb.word_index for fb in fbs] == list(range(6))
    assert r.words_spoken == 6 and r.gesture_frames > 15 and r.trajectories >= 1
    assert r.motion_duration >= r.spoken_duration > 1.0
    done_at = client.now()
    assert np.abs(client.posture_at(done_at) - rest).max() < AT_REST  # answered once at rest
