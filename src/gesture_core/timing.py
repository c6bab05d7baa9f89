"""Expected duration of work proportional to a gesture's frames, learned from the work done, so
that work which would finish after its due time is known before it starts (issue #16: bounded
work). ROS-free."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError


@dataclass
class PlanningTime:
    """How long work on a gesture takes (s): ``safety * (fixed_s + per_frame_s * frames)``.

    Used for planning a robot trajectory (:mod:`gesture_core.retarget.motion`) and for generating
    gestures (the generator node). ``per_frame_s`` starts conservative and is learned from the work
    done (:meth:`update`): a slower run than expected raises it at once, faster ones lower it
    slowly (``decay`` per run), so a machine that becomes busy is followed quickly and a quiet
    spell does not make it optimistic.
    """

    fixed_s: float = 0.03
    per_frame_s: float = 0.005
    safety: float = 1.5
    decay: float = 0.1

    def __post_init__(self) -> None:
        if not (self.fixed_s >= 0 and self.per_frame_s >= 0 and self.safety >= 1 and 0 < self.decay <= 1):
            raise ConfigError(f"PlanningTime needs fixed_s, per_frame_s >= 0, safety >= 1, decay in (0, 1]: {self}")

    def estimate(self, n_frames: int) -> float:
        """Expected seconds (with the safety factor) to plan ``n_frames`` frames."""
        return self.safety * (self.fixed_s + self.per_frame_s * n_frames)

    def update(self, n_frames: int, seconds: float) -> None:
        """Learn from a plan of ``n_frames`` frames that took ``seconds``."""
        per = max(0.0, seconds - self.fixed_s) / max(1, n_frames)
        self.per_frame_s = per if per > self.per_frame_s else (1 - self.decay) * self.per_frame_s + self.decay * per
