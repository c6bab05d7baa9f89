"""The fault suite of issue #16 (points 1, 3, 4 and 7) on one real graph over DDS: asr,
audio_features, gesture_generator, retarget and mujoco_sim as processes, probed from outside as
an adversarial DDS participant would: the issue's one-message denials of service, a stalling far-off
audio chunk, hostile sizes and times on every topic, bad parameter values.

After the probes: no node has exited, every probe was refused (logged with its reason),
``joint_states`` stayed within the position limits and 1.05x the velocity limits all along, and the
next normal utterance is gestured on time. One graph for the module, many probes on it (CI time).
"""

from __future__ import annotations

import numpy as np
import pytest

from gesture_core import contracts as c
from gesture_core import skeleton
from gesture_core.retarget.config import (
    default_config_path,
    load_config,
    position_limits,
    resolve_urdf,
    velocity_limits,
)
from gesture_core.retarget.motion import MAX_PLAN_FRAMES, PIECE_OVERLAP_FRAMES
from gesture_core.robot import parse_urdf

pytestmark = [pytest.mark.ros, pytest.mark.slow]
rclpy = pytest.importorskip("rclpy")
from gesture_msgs.msg import AudioFeatures, GestureSequence, Word, Words  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from trajectory_msgs.msg import JointTrajectory  # noqa: E402

CFG = load_config(default_config_path())
ROBOT = parse_urdf(resolve_urdf(CFG))
LOWER, UPPER = position_limits(CFG, ROBOT, CFG.joint_names)
VELOCITY = velocity_limits(CFG, ROBOT, CFG.joint_names)
#: node name -> module, parameters
NODES = {
    "asr": ("gesture_ros.asr_node", {}),
    "audio_features": ("gesture_ros.audio_features_node", {}),
    "gesture_generator": ("gesture_ros.generator_node", {}),
    "retarget": ("gesture_ros.retarget_node", {}),
    "mujoco_sim": ("gesture_ros.sim_node", {"publish_rate": 50.0}),
}
TIMEOUT = 90.0
CHUNK = c.AUDIO_SAMPLE_RATE // 10
WORDS = [c.Word("hello", 0.2, 0.6), c.Word("robot", 1.0, 1.6)]


class Graph:
    """The harness's view of the graph: joint states, trajectories by utterance, node logs."""

    def __init__(self, ros):
        self.ros = ros
        self.states: list[tuple[int, np.ndarray]] = []
        self.trajectories: dict[str, list[c.JointCommand]] = {}
        ros.node.create_subscription(JointState, c.JOINT_STATES.name, self._on_state, 500)
        ros.node.create_subscription(JointTrajectory, c.JOINT_TRAJECTORY.name, self._on_trajectory, 50)
        self.procs = {name: ros.start(module, params) for name, (module, params) in NODES.items()}

    def _on_state(self, msg: JointState) -> None:
        by_name = dict(zip(msg.name, msg.position))
        self.states.append((c.stamp_to_ns(msg.header.stamp), np.array([by_name[n] for n in CFG.joint_names])))

    def _on_trajectory(self, msg: JointTrajectory) -> None:
        cmd = c.decode_joint_trajectory(msg)
        self.trajectories.setdefault(cmd.utterance_id, []).append(cmd)

    def now_ns(self) -> int:
        return self.ros.node.get_clock().now().nanoseconds

    def in_log(self, node: str, text: str) -> bool:
        return text in self.procs[node].log()

    def wait_log(self, node: str, text: str) -> None:
        self.ros.spin_until(lambda: self.in_log(node, text), TIMEOUT, f"{text!r} in the log of {node}")

    def event(self, ev: c.UtteranceEvent):
        pub = self.ros.publisher(c.UTTERANCE)
        msg = c.encode_utterance(pub.msg_type(), ev)
        pub.publish(msg)
        return msg

    def say(self, uid: str, audio: np.ndarray, lead: float = 1.5) -> int:
        return self.ros.publish_utterance(
            uid, audio, "tts", self.now_ns() + round(lead * c.NS_PER_S), words=WORDS, chunk_samples=CHUNK
        )

    def assert_gestured(self, uid: str, start_ns: int) -> None:
        """A trajectory of ``uid`` arrives, starting at its speech (not cut: it was planned in time)."""
        self.ros.spin_until(lambda: uid in self.trajectories, TIMEOUT, f"the robot trajectory of {uid}")
        first = min(self.trajectories[uid], key=lambda t: t.stamp_ns)
        assert first.stamp_ns == start_ns

    def assert_states_safe(self) -> None:
        """Every joint state so far within the position limits and 1.05x the velocity limits."""
        assert len(self.states) > 100
        stamps = np.array([t for t, _ in self.states], dtype=np.float64) / c.NS_PER_S
        q = np.stack([p for _, p in self.states])
        assert np.all(q >= LOWER - 1e-3) and np.all(q <= UPPER + 1e-3)
        order = np.argsort(stamps, kind="stable")
        stamps, q = stamps[order], q[order]
        dt = np.diff(stamps)
        keep = dt > 1e-4
        speed = np.abs(np.diff(q, axis=0))[keep] / dt[keep, None]
        worst = (speed / VELOCITY).max()
        assert worst <= 1.05, f"joint speed reached {worst:.2f}x the velocity limit"


@pytest.fixture
def graph(ros, speech_with_clicks) -> Graph:
    g = Graph(ros)
    for topic in (c.UTTERANCE, c.AUDIO, c.WORDS, c.FEATURES, c.HUMAN_POSE):
        ros.wait_for_subscribers(ros.publisher(topic), timeout=TIMEOUT)
    ros.spin_until(lambda: "rest" in g.trajectories and len(g.states) > 10, TIMEOUT, "the start-up rest pose")
    # a normal utterance before the probes: the graph works
    g.assert_gestured("before-1", g.say("before-1", speech_with_clicks(2.0, clicks=(0.5, 1.2)), lead=3.0))
    return g


def test_no_input_takes_a_node_down_and_the_next_utterance_is_gestured(graph: Graph, speech_with_clicks):
    ros, g = graph.ros, graph
    now = g.now_ns()

    # 1. an end event announcing 700 s of audio (each node keeps max_utterance_s 600 s), and one
    #    beyond the contract's hour: refused, no node exits ~2 s later
    events = ros.publisher(c.UTTERANCE)
    for uid, seconds in (("huge-1", 700), ("huge-2", 4000)):
        g.event(c.UtteranceEvent(uid, "start", now + c.NS_PER_S, "file"))
        end = c.encode_utterance(events.msg_type(), c.UtteranceEvent(uid, "end", now + c.NS_PER_S, "file", n_samples=1))
        end.n_samples = seconds * c.AUDIO_SAMPLE_RATE
        events.publish(end)

    # speech/features with onsets=[1e308] (killed the generator on its words-timeout path)
    f = c.AudioFeatures("feat-1", 15.0, 0.0, np.zeros((3, 2)), np.zeros(3), np.zeros(3), np.zeros(3), final=True)
    feats = c.encode_features(AudioFeatures(), f)
    feats.onsets = [1e308]
    ros.publisher(c.FEATURES).publish(feats)
    # 7. 20k+ feature frames, 10 MB-ish texts, too many words, start times in 2037, big-endian audio
    big = c.encode_features(AudioFeatures(), f)
    big.rms = [0.0] * (c.MAX_FEATURE_FRAMES + 1)
    ros.publisher(c.FEATURES).publish(big)
    long_text = c.encode_utterance(events.msg_type(), c.UtteranceEvent("text-1", "start", now, "file"))
    long_text.text = "x" * (c.MAX_TEXT_CHARS + 1)
    events.publish(long_text)
    in_2037 = c.encode_utterance(events.msg_type(), c.UtteranceEvent("y2037", "start", now, "file"))
    c.ns_to_stamp(2_145_916_800 * c.NS_PER_S, in_2037.start_time)
    events.publish(in_2037)
    many = Words(utterance_id="many-1", final=True, source="asr")
    many.words = [Word(text="w", start=0.0, end=0.1, confidence=1.0)] * (c.MAX_WORDS + 1)
    ros.publisher(c.WORDS).publish(many)

    # 3. one 1-sample chunk 500 s after its utterance's start (stalled three nodes 17-45 s), and a
    #    big-endian layout
    g.event(c.UtteranceEvent("gap-1", "start", now + c.NS_PER_S, "file"))
    audio_pub = ros.publisher(c.AUDIO)
    far = c.AudioChunk("gap-1", now + 501 * c.NS_PER_S, np.zeros(1, np.float32), 500 * c.AUDIO_SAMPLE_RATE)
    audio_pub.publish(c.encode_audio(audio_pub.msg_type(), far))
    be = c.encode_audio(audio_pub.msg_type(), c.AudioChunk("gap-1", now + c.NS_PER_S, np.zeros(160, np.float32), 0))
    be.channel_layout = "interleaved-be"
    audio_pub.publish(be)

    # pose values of 1e300
    pose_pub = ros.publisher(c.HUMAN_POSE)
    bad = c.encode_human_pose(GestureSequence(), c.GestureSequence("pose-1", now, np.tile(skeleton.MEAN_DIR_VEC, (3, 1))))
    bad.poses = [1e300] * len(bad.poses)
    pose_pub.publish(bad)

    # parameters: backend=trimodal then a 300-character checkpoint path (hung the set call and
    # killed the generator); refused with reasons, the parameters read what runs
    ros.set_parameters("gesture_generator", timeout=TIMEOUT, backend="trimodal")  # its bundled checkpoint
    (long_path,) = ros.set_parameters("gesture_generator", timeout=TIMEOUT, checkpoint="/" + "c" * 300)
    assert not long_path.successful and "cannot be used: OSError: [Errno 36] File name too long" in long_path.reason
    (back,) = ros.set_parameters("gesture_generator", timeout=TIMEOUT, backend="procedural")
    assert back.successful
    (wrong,) = ros.set_parameters("retarget", timeout=TIMEOUT, rest_blend_time="soon")
    assert not wrong.successful and "rest_blend_time must be a number (double), got a string 'soon'" == wrong.reason
    (unknown,) = ros.set_parameters("asr", timeout=TIMEOUT, max_utterance_sec=10.0)
    assert not unknown.successful and "has no parameter 'max_utterance_sec' (did you mean max_utterance_s" in unknown.reason

    # every probe refused with its reason, logged
    for node in ("asr", "audio_features", "gesture_generator", "retarget"):
        g.wait_log(node, "announces 4000 s of audio (n_samples 64000000), limit 3600 s")
    g.wait_log("gesture_generator", "huge-1: ")  # the 700 s end event: the audio that came is gestured
    g.wait_log("gesture_generator", "onsets has a time of 1e+308 s")
    g.wait_log("audio_features", "leaves a gap of 500.00 s")
    g.wait_log("retarget", "bone directions are unit vectors")
    g.wait_log("asr", "start_time lies 349")
    g.wait_log("gesture_generator", "words has 18001 entries, limit 18000")
    g.wait_log("gesture_generator", "rms has 54001 entries")
    g.wait_log("audio_features", "channel_layout is 'interleaved-be', expected 'mono'")

    # a 9000-frame gesture (18 s to plan in one go before): planned in pieces, each stamped after
    # its planning
    n = 9000
    angle = 0.6 * np.sin(2 * np.pi * 0.4 * np.arange(n) / c.GESTURE_FPS)
    poses = np.tile(skeleton.MEAN_DIR_VEC, (n, 1))
    poses[:, 15:18] = poses[:, 24:27] = np.stack([np.zeros(n), -np.sin(angle), np.cos(angle)], axis=1)
    long_start = g.now_ns() + 2 * c.NS_PER_S
    pose_pub.publish(c.encode_human_pose(GestureSequence(), c.GestureSequence("long-1", long_start, poses)))

    # the long gesture plays piece after piece
    ros.spin_until(lambda: len(g.trajectories.get("long-1", [])) >= 2, TIMEOUT, "two pieces of long-1")
    pieces = sorted(g.trajectories["long-1"], key=lambda t: t.stamp_ns)
    # a piece: at most MAX_PLAN_FRAMES frames plus the PIECE_OVERLAP_FRAMES it reaches into the next
    longest = (MAX_PLAN_FRAMES + PIECE_OVERLAP_FRAMES) / c.GESTURE_FPS
    assert pieces[0].stamp_ns >= long_start and pieces[0].times[-1] <= longest + 0.5

    # the next normal utterance takes over from the long gesture and is gestured from its start
    start_ns = g.say("after-1", speech_with_clicks(2.0, clicks=(0.5, 1.2)), lead=3.0)
    g.assert_gestured("after-1", start_ns)
    ros.spin_until(lambda: g.states[-1][0] > start_ns + 3 * c.NS_PER_S, TIMEOUT, "the sim playing after-1")
    for name, proc in g.procs.items():
        assert proc.alive(), f"{name} exited:\n{proc.log()}"
    g.assert_states_safe()
