"""gesture_core: the ROS-free core of the co-speech gesture stack.

Speech in, robot joint trajectories out: audio features, gesture generation, retargeting to a
URDF robot within its limits, MuJoCo simulation and evaluation metrics. ROS nodes (in
``ros2_ws/src``) are thin wrappers around this library; it never imports rclpy.
"""

__version__ = "0.1.0"
