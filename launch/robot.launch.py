"""Launch the co-speech gesture stack: ``ros2 launch gesture_bringup robot.launch.py [arg:=value ...]``.

The nodes, their executables and their parameters are defined once, in ``gesture_bringup.graph``:
:func:`graph.plan` returns every node with the parameters to give it (the graph's parameter file,
default ``config/gesture.yaml``, then what the arguments decide); ``gesture-bringup`` starts the
same processes on machines without ``ros2 launch``.

Examples::

    ros2 launch gesture_bringup robot.launch.py
    ros2 launch gesture_bringup robot.launch.py backend:=trimodal checkpoint:=/path/to/ckpt
    ros2 launch gesture_bringup robot.launch.py sim:=gazebo                  # Gazebo Harmonic + ros2_control
    ros2 launch gesture_bringup robot.launch.py sim:=none                    # your robot's ros2_control
    ros2 launch gesture_bringup robot.launch.py robot:=icub                  # a bundled robot config
    ros2 launch gesture_bringup robot.launch.py robot:=/path/to/my_robot.yaml  # your robot config
    ros2 topic pub --once /speech/say std_msgs/msg/String "{data: 'Hello there!'}"
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from gesture_bringup import graph


def _nodes(context):
    args = graph.with_defaults({a.name: LaunchConfiguration(a.name).perform(context) for a in graph.ARGUMENTS})
    return [
        Node(
            package=process.spec.package,
            executable=process.spec.executable,
            name=process.spec.name,
            arguments=list(process.spec.arguments),
            parameters=[p if isinstance(p, dict) else str(p) for p in process.parameters],
            remappings=list(process.spec.remappings),
            output="screen",
        )
        for process in graph.plan(args)
    ]


def generate_launch_description():
    arguments = [
        DeclareLaunchArgument(a.name, default_value=a.default, description=a.description, choices=a.choices)
        for a in graph.ARGUMENTS
    ]
    return LaunchDescription([*arguments, OpaqueFunction(function=_nodes)])
