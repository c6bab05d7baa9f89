#!/usr/bin/env bash
# Entry point of the gesture-gazebo image: ROS 2 Jazzy and the built workspace, then the command
# (default: ros2 launch gesture_bringup robot.launch.py sim:=gazebo).
set -e
source /opt/ros/jazzy/setup.bash
source /opt/gesture/ros2_ws/install/setup.bash
exec "$@"
