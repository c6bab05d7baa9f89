"""Launch the co-speech gesture stack: ``ros2 launch gesture_bringup robot.launch.py [arg:=value ...]``.

The nodes, their executables and which arguments set which parameters are defined once, in
``gesture_bringup.graph`` (``gesture-bringup`` on pip-only machines starts the same graph). Every
other parameter comes from the parameter file (default ``config/gesture.yaml``).

Examples::

    ros2 launch gesture_bringup robot.launch.py
    ros2 launch gesture_bringup robot.launch.py backend:=trimodal checkpoint:=/path/to/ckpt sim:=false
    ros2 launch gesture_bringup robot.launch.py robot:=icub                  # a bundled robot config
    ros2 launch gesture_bringup robot.launch.py robot:=/path/to/my_robot.yaml  # your robot config
    ros2 topic pub --once /speech/say std_msgs/msg/String "{data: 'Hello there!'}"
"""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from gesture_bringup import graph


def _share_file(folder, name, package):
    return Path(get_package_share_directory(package)) / folder / name


def _nodes(context):
    args = graph.with_defaults({a.name: LaunchConfiguration(a.name).perform(context) for a in graph.ARGUMENTS})
    params_file = args["params_file"] or str(_share_file("config", "gesture.yaml", "gesture_bringup"))
    return [
        Node(
            package=graph.NODE_PACKAGE,
            executable=spec.executable,
            name=spec.name,
            parameters=[params_file, graph.arg_param_values(spec, args, _share_file)],
            remappings=list(spec.remappings),
            output="screen",
        )
        for spec in graph.build_graph(args)
    ]


def generate_launch_description():
    arguments = [
        DeclareLaunchArgument(a.name, default_value=a.default, description=a.description, choices=a.choices)
        for a in graph.ARGUMENTS
    ]
    return LaunchDescription([*arguments, OpaqueFunction(function=_nodes)])
