"""Bringup of the gesture stack: the node graph, defined once, for ros2 launch and for pip-only machines."""
