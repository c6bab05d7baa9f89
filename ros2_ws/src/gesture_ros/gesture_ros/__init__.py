"""Thin ROS 2 nodes around ``gesture_core``: message -> numpy at the edge, core call, publish."""

from ._early_stop import install as _install_early_stop

_install_early_stop()  # before the node modules' imports (see _early_stop)
