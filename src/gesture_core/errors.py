"""The project's exception classes.

Every error the core library raises on bad input is a :class:`GestureError`, so a ROS node can
catch one class at its edge, log it and keep running.
"""

from __future__ import annotations


class GestureError(Exception):
    """Base class of every error raised by ``gesture_core``."""


class ContractError(GestureError):
    """A message or payload does not follow its topic contract (see :mod:`gesture_core.contracts`)."""


class ConfigError(GestureError):
    """A configuration file or dataclass config has a missing, unknown or invalid key.

    The message always names the offending key, e.g. ``retarget.arms.left.joints[2]: unknown joint``.
    """


class RobotDescriptionError(GestureError):
    """A URDF is missing, malformed, or lacks what the project needs (limits, inertias, joints)."""


class SpeechError(GestureError):
    """Text to speech, audio input or speech recognition failed."""


class ModelError(GestureError):
    """A gesture model, checkpoint or runtime backend could not be built, loaded or run."""


class DataError(GestureError):
    """A dataset file, clip or array given to a data or metric function is missing or malformed.

    The message names the clip (or file) and the field, e.g. ``clip 'scott_01' poses.npy: shape (10, 26)``.
    """
