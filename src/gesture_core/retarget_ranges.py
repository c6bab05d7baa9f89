"""Valid ranges of the retargeting settings, defined once.

Used by the robot config's validation (:class:`gesture_core.retarget.config.RetargetConfig`), the
safety stage (:class:`gesture_core.retarget.safety.SafetyStage`) and the retarget node's parameters
(:class:`gesture_core.node_settings.RetargetSettings`). A module of its own, outside the
``retarget`` package, so that reading the ranges does not load the IK (MuJoCo).
"""

from __future__ import annotations

#: Rate of the trajectory points (Hz).
CONTROLLER_RATE_HZ = (10.0, 1000.0)
#: Low-pass cutoff of the safety stage (Hz); also below half the controller rate (Nyquist).
SMOOTHING_CUTOFF_HZ = (0.1, 450.0)
#: Seconds over which a new trajectory blends in from the commanded state.
JOIN_TIME_S = (0.0, 5.0)
#: Hold of the last posture before returning to rest (s), and the return itself (s).
REST_HOLD_TIME_S = (0.0, 10.0)
REST_BLEND_TIME_S = (0.1, 10.0)
#: Scale of the velocity limits (acceleration: squared).
SPEED_SCALE = (0.05, 1.0)
#: Margin kept clear of every joint position limit (rad).
LIMIT_MARGIN_RAD = (0.0, 0.5)
#: The robot config's scale of the motion around the mean pose (a robot property, not a node parameter).
AMPLITUDE_SCALE = (0.0, 3.0)
