"""Thin ROS 2 nodes around ``gesture_core``: message -> numpy at the edge, core call, publish."""
