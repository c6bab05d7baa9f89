"""Retargeting human TED gestures onto a URDF robot, and the safety stage every command passes.

- :mod:`.config`: the YAML configuration (``config/retarget_*.yaml``) as validated dataclasses.
- :mod:`.ik`: :class:`Retargeter`, TED bone directions -> joint positions (MuJoCo kinematics).
- :mod:`.safety`: :class:`SafetyStage`, joint targets -> a controller-rate trajectory inside the
  position, velocity and acceleration limits, joined to the current commanded state.
- :mod:`.motion`: :class:`MotionPlanner`, the two together on the utterance timeline (what the
  retarget node runs).
- :mod:`.streaming`: :class:`~.streaming.StreamingPlanner`, the same chunk by chunk: messages that
  extend the trajectory already sent (joint_trajectory_controller replacement semantics).
"""

from .config import RetargetConfig, load_config
from .ik import Retargeter
from .safety import JointLimits, JointState, SafetyStage, Trajectory

__all__ = ["JointLimits", "JointState", "RetargetConfig", "Retargeter", "SafetyStage", "Trajectory", "load_config"]
