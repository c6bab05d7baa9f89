#!/usr/bin/env bash
# colcon build of ros2_ws (build/, install/, log/ in ros2_ws) with the ROS 2 of .venv: the pip
# wheels. Extra arguments go to `colcon build` (setup.sh passes `--packages-select gesture_msgs`).
#
# The CMake packages (gesture_msgs) need three things that a full ROS 2 install does not:
#   - CMAKE_PROJECT_INCLUDE=gesture_msgs/cmake/pip_wheels.cmake: the wheels' exported targets name
#     include directories of their build machine; it swaps them for this interpreter's and numpy's;
#   - Python3_EXECUTABLE: the generated Python package is built for the venv's interpreter (whose
#     prefix pip_wheels.cmake adds to the package search paths);
#   - BUILD_TESTING=OFF: the linters' CMake packages are not among the wheels.
# setup.sh and `make colcon` both build through this script with the same arguments, so the second
# finds gesture_msgs built and up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
export PATH="$VENV/bin:$PATH"
cd ros2_ws
exec "$VENV/bin/colcon" build --base-paths src "$@" --cmake-args \
    "-DCMAKE_PROJECT_INCLUDE=$ROOT/ros2_ws/src/gesture_msgs/cmake/pip_wheels.cmake" \
    -DBUILD_TESTING=OFF "-DPython3_EXECUTABLE=$VENV/bin/python"
