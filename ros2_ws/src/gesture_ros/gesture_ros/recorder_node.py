"""Recorder node: every topic of the graph into one MCAP file (rosbag2-compatible).

Subscribes to every topic it discovers (checked once a second), with raw (serialized) callbacks so
messages are stored exactly as they travelled, and closes the file cleanly on shutdown (Ctrl-C).
The contract's durable topics (``speech/utterance``, ``robot_description``) are subscribed up
front, transient local: a one-off utterance start published before discovery completes (a loaded
machine) and the robot description published once at start-up are still recorded (their publishers
in the graph keep their last messages; a volatile publisher of them is not recorded).
The chunk in progress is written out every second, so a killed recorder (SIGKILL) leaves a file
``gesture_core.recording.read_messages`` reads up to the last second.

Parameters: ``output_dir`` (the file is ``<output_dir>/recording.mcap``), ``exclude`` (topic names
not to record; ``/rosout`` and ``/parameter_events`` by default).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from gesture_core import contracts as c
from gesture_core.node_settings import RecorderSettings
from gesture_core.recording import McapRecorder, MessageDefinitions
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from .ros_io import GestureNode, NodeSettings, msg_class, run_node

log = logging.getLogger(__name__)


def share_dirs() -> list[Path]:
    """Where ``<pkg>/msg/*.msg`` definitions live: AMENT_PREFIX_PATH entries, then this Python's prefix."""
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p] + [sys.prefix]
    return [Path(p) / "share" for p in prefixes]


class RecorderNode(GestureNode):
    def __init__(self) -> None:
        super().__init__("recorder")
        settings = NodeSettings(self, RecorderSettings).value
        self.exclude = set(settings.exclude)
        path = Path(settings.output_dir) / "recording.mcap"
        self.recorder = McapRecorder(path, MessageDefinitions(share_dirs()))
        self.subs: dict[str, object] = {}
        for topic in c.TOPICS.values():
            if topic.durable and "/" + topic.name not in self.exclude:
                qos = QoSProfile(depth=topic.depth, reliability=ReliabilityPolicy.RELIABLE)
                qos.durability = DurabilityPolicy.TRANSIENT_LOCAL
                self._subscribe(self.resolve_topic_name(topic.name), topic.msg_type, qos)
        self.create_timer(1.0, self.discover)
        self.discover()
        self.get_logger().info(f"recording every topic into {path}")

    def discover(self) -> None:
        for topic, types in self.get_topic_names_and_types():
            if topic in self.subs or topic in self.exclude or len(types) != 1:
                continue
            if "/_action/" in topic:  # an action's internals (goal status, feedback): the speech is recorded
                self.get_logger().info(f"not recording {topic} (action internals)")
                self.exclude.add(topic)
                continue
            infos = self.get_publishers_info_by_topic(topic)
            if not infos:
                continue
            reliable = all(i.qos_profile.reliability == ReliabilityPolicy.RELIABLE for i in infos)
            qos = QoSProfile(depth=500, reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT)
            self._subscribe(topic, types[0], qos)
        self.recorder.flush()  # once a second: a killed recorder loses at most the last second

    def _subscribe(self, topic: str, type_name: str, qos: QoSProfile) -> None:
        try:
            self.recorder.add_topic(topic, type_name)
            msg_type = msg_class(type_name)
        except Exception as exc:  # an unknown type must not stop the recording of the others
            self.get_logger().error(f"cannot record {topic} ({type_name}): {exc}")
            self.exclude.add(topic)
            return
        self.subs[topic] = self.create_subscription(
            msg_type, topic, lambda data, t=topic: self.recorder.write(t, data, time.time_ns()), qos, raw=True
        )
        self.get_logger().info(f"recording {topic} [{type_name}]")

    def destroy_node(self) -> None:
        self.recorder.close()
        counts = ", ".join(f"{t}: {n}" for t, n in sorted(self.recorder.counts.items()))
        # Python logging: after Ctrl-C the ROS context is gone and the node logger cannot reach /rosout
        log.info("closed %s (%s)", self.recorder.path, counts)
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] [recorder]: %(message)s")
    return run_node(RecorderNode, args)


if __name__ == "__main__":
    sys.exit(main())
