"""The demo's director: waits for the graph, gives it something to say, waits for the robot to finish.

It is an ordinary ROS node inside ``gesture-bringup``: it publishes ``speech/say`` (or
``speech/play_file``) once every node has subscribed to what it needs, follows the utterance and the
robot's trajectories, and returns once the speech has ended, the robot has settled back at rest and
the recognised words of a recording have arrived (ASR may finish after the motion on a slow
machine; the outputs show them), at most :data:`WORDS_WAIT_S` after the speech.
"""

from __future__ import annotations

import logging
import time

import rclpy
from gesture_core import contracts as c
from gesture_core.errors import GestureError
from gesture_core.ros2_control import TRAJECTORY_CONTROLLER
from rclpy.executors import SingleThreadedExecutor
from gesture_msgs.msg import UtteranceEvent, Words
from rclpy.signals import SignalHandlerOptions
from std_msgs.msg import String

from .graph import NodeSpec, trajectory_topic
from .supervisor import Supervisor

log = logging.getLogger("gesture_bringup")

#: After the speech and the last trajectory point, how long the robot may take to settle (s).
SETTLE_S = 1.5
#: Longest wait after the speech for the final recognised words of an utterance (s).
WORDS_WAIT_S = 20.0


class Director:
    def __init__(self, args: dict[str, str], nodes: list[NodeSpec], text: str = "", file: str = ""):
        self.args, self.text, self.file = args, text, file
        self.node_names = {n.name for n in nodes if not n.transient}
        self.controlled = any(n.name == "controller_spawner" for n in nodes)  # ros2_control executes the motion
        self.trajectories = trajectory_topic(args)
        self.context = rclpy.Context()
        rclpy.init(args=[], context=self.context, signal_handler_options=SignalHandlerOptions.NO)
        self.node = rclpy.create_node("gesture_bringup_director", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.say = self.node.create_publisher(String, c.SAY.name, c.SAY.depth)
        self.play_file = self.node.create_publisher(String, c.PLAY_FILE.name, c.PLAY_FILE.depth)
        self.starts: dict[str, int] = {}
        self.ends: dict[str, int] = {}
        self.motion_end: dict[str, int] = {}
        self.awaiting_words: set[str] = set()  # recognised (not TTS) utterances whose final words are due
        self.node.create_subscription(UtteranceEvent, c.UTTERANCE.name, self._on_utterance, c.UTTERANCE.depth)
        self.node.create_subscription(Words, c.WORDS.name, self._on_words, c.WORDS.depth)
        from trajectory_msgs.msg import JointTrajectory

        self.node.create_subscription(JointTrajectory, self.trajectories, self._on_trajectory, 10)

    # ----------------------------------------------------------------------------------------
    def _on_utterance(self, msg: UtteranceEvent) -> None:
        try:
            ev = c.decode_utterance(msg)
        except GestureError as exc:
            log.warning("ignoring a malformed utterance event: %s", exc)
            return
        if ev.event == "start":
            self.starts[ev.utterance_id] = ev.start_ns
            if not ev.words_known:
                self.awaiting_words.add(ev.utterance_id)
            log.info("utterance %s: %s", ev.utterance_id, f"“{ev.text}”" if ev.text else ev.source)
        elif ev.event == "cancel":
            self.ends[ev.utterance_id] = self.node.get_clock().now().nanoseconds
            log.info("utterance %s: canceled", ev.utterance_id)
        else:
            end = ev.start_ns + round(ev.n_samples * c.NS_PER_S / c.AUDIO_SAMPLE_RATE)
            self.ends[ev.utterance_id] = end
            log.info("utterance %s: %.2f s of speech", ev.utterance_id, ev.n_samples / c.AUDIO_SAMPLE_RATE)

    def _on_words(self, msg: Words) -> None:
        try:
            words = c.decode_words(msg)
        except GestureError:
            return
        if words.final:
            self.awaiting_words.discard(words.utterance_id)

    def _on_trajectory(self, msg) -> None:
        try:
            cmd = c.decode_joint_trajectory(msg)
        except GestureError:
            return
        end = cmd.stamp_ns + round(cmd.times[-1] * c.NS_PER_S)
        if cmd.utterance_id not in self.motion_end and cmd.utterance_id in self.starts:
            log.info("gesture for %s: %d joints, %.2f s of motion", cmd.utterance_id, len(cmd.joint_names), cmd.times[-1])
        self.motion_end[cmd.utterance_id] = max(end, self.motion_end.get(cmd.utterance_id, 0))

    # ----------------------------------------------------------------------------------------
    def _missing(self) -> list[str]:
        """What the graph still lacks before speech can start (empty when ready)."""
        missing = sorted(self.node_names - {"recorder"} - set(self.node.get_node_names()))
        needs = {c.AUDIO.name: {"asr", "audio_features", "gesture_generator"}, c.HUMAN_POSE.name: {"retarget"}}
        request = {"tts": c.SAY.name, "file": c.PLAY_FILE.name}.get(self.args["input"])
        if request:
            needs[request] = {"speech_source"}
        if "mujoco_sim" in self.node_names:
            needs[self.trajectories] = {"mujoco_sim"}
        elif self.controlled:  # the controllers are spawned once the controller manager runs
            needs[self.trajectories] = {TRAJECTORY_CONTROLLER}
        if "recorder" in self.node_names:  # everything the outputs are made of is being recorded
            recorded = [c.UTTERANCE.name, c.AUDIO.name, c.WORDS.name, c.FEATURES.name, c.HUMAN_POSE.name, self.trajectories]
            if "mujoco_sim" in self.node_names:
                recorded += [c.JOINT_STATES.name] + ([c.SIM_IMAGE.name] if self.args["render"] == "true" else [])
            for topic in recorded:
                needs.setdefault(topic, set()).add("recorder")
        for topic, subscribers in needs.items():
            have = {i.node_name for i in self.node.get_subscriptions_info_by_topic("/" + topic.lstrip("/"))}
            missing += [f"{s} on {topic}" for s in sorted(subscribers - have)]
        return missing

    def run(self, sup: Supervisor, stop: dict, startup_timeout: float, stay: bool) -> int:
        """0 when the utterance was said and gestured, 1 on a failure, 130 on Ctrl-C."""
        deadline = time.monotonic() + startup_timeout
        missing = self._missing()
        while missing:
            if (status := self._interrupted(sup, stop)) is not None:
                return status
            if time.monotonic() > deadline:
                log.error("the graph did not come up within %.0f s; still missing: %s", startup_timeout, ", ".join(missing))
                return 1
            self.executor.spin_once(timeout_sec=0.2)
            missing = self._missing()
        log.info("all nodes are up")
        if self.args["input"] == "tts":
            log.info("robot says: “%s”", self.text)
            self.say.publish(String(data=self.text))
        elif self.args["input"] == "file":
            log.info("playing %s", self.file)
            self.play_file.publish(String(data=self.file))
        if stay:
            log.info("graph running; tune it through the parameter services, Ctrl-C to stop")
        return self._wait_until_done(sup, stop, stay)

    def _wait_until_done(self, sup: Supervisor, stop: dict, stay: bool) -> int:
        said_at = time.monotonic()
        while True:
            if (status := self._interrupted(sup, stop)) is not None:
                return status
            self.executor.spin_once(timeout_sec=0.1)
            if stay:
                continue
            now = self.node.get_clock().now().nanoseconds
            finished = [u for u in self.ends if u in self.motion_end]
            settled = finished and all(
                now > max(self.ends[u], self.motion_end[u]) + SETTLE_S * c.NS_PER_S for u in finished
            )
            words_due = [u for u in self.awaiting_words if u in self.ends and now < self.ends[u] + WORDS_WAIT_S * c.NS_PER_S]
            if settled and not words_due:
                log.info("speech over and the robot is back at rest")
                return 0
            waited = time.monotonic() - said_at
            if self.ends and not finished and now > max(self.ends.values()) + 20 * c.NS_PER_S:
                log.error("speech ended 20 s ago but no joint trajectory arrived for it (see the logs)")
                return 1
            if not self.starts and waited > 60:
                log.error("no utterance started within 60 s of the request (see the speech_source log)")
                return 1

    def _interrupted(self, sup: Supervisor, stop: dict) -> int | None:
        if stop["signal"] is not None:
            log.info("interrupted")
            return 130
        failed = sup.failed()
        if failed is not None:
            sup.report_failure(failed)
            return 1
        return None

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
