#!/usr/bin/env bash
# colcon build of ros2_ws (build/, install/, log/ in ros2_ws) with the ROS 2 of .venv (the pip
# wheels): the README's `cd ros2_ws && colcon build` in the activated venv. Extra arguments go to
# `colcon build` (setup.sh passes `--packages-select gesture_msgs`).
#
# The interface package gesture_msgs finds the wheels itself (its cmake/pip_wheels.cmake: the
# active venv's prefix on CMake's and the ament index's search paths, BUILD_TESTING off, the
# wheels' include directories fixed); a full ROS 2 install needs nothing of it. setup.sh and
# `make colcon` both build through this script, so the second finds gesture_msgs built and up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source .venv/bin/activate
cd ros2_ws
exec colcon build "$@"
