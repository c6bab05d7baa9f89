"""robot_description node: publishes the robot's URDF, so RViz and Foxglove show the robot.

Publishes the URDF of ``config_file`` (a robot config: its ``urdf``) or of
``robot_description_file`` on ``robot_description`` (``std_msgs/String``, depth 1, reliable,
transient local: subscribers that join later get it too), once at start-up. The graph runs this
node only where ``robot_state_publisher`` is not installed (pip-only machines); on a full ROS 2
install ``robot_state_publisher`` publishes the same topic (and TF), never both.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gesture_core import contracts as c
from gesture_core.errors import ConfigError
from gesture_core.node_settings import DescriptionSettings
from gesture_core.retarget.config import default_config_path, read_config, resolve_urdf
from rclpy.node import Node

from .ros_io import NodeSettings, msg_class, publisher_qos, run_node

class DescriptionNode(Node):
    def __init__(self) -> None:
        super().__init__("robot_description")
        s = NodeSettings(self, DescriptionSettings).value
        urdf = s.robot_description_file or str(resolve_urdf(read_config(s.config_file or default_config_path())))
        try:
            text = Path(urdf).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"robot_description_file: cannot read {urdf}: {exc.strerror}") from None
        String = msg_class(c.ROBOT_DESCRIPTION)
        topic = c.ROBOT_DESCRIPTION
        self._pub = self.create_publisher(String, topic.name, publisher_qos(topic))
        self._pub.publish(String(data=text))
        self.get_logger().info(f"published {urdf} on {c.ROBOT_DESCRIPTION.name} ({len(text)} characters)")


def main(args: list[str] | None = None) -> int:
    return run_node(DescriptionNode, args)


if __name__ == "__main__":
    sys.exit(main())
