"""A headless MuJoCo simulation of the robot, position-controlled along joint trajectories.

:class:`Simulator` loads a URDF (:func:`gesture_core.robot.load_mujoco_model`), steps at a fixed
timestep and drives every joint's position servo towards a :class:`TrajectoryReference` fed with
:class:`~gesture_core.contracts.JointCommand` s. Time is the simulator's own clock, in seconds from
0 at construction; mapping ROS time onto it is the caller's business (see the sim node).

**The robot's limits hold whatever is commanded.** Between the reference and the servos sits a
limiter (:func:`~gesture_core.retarget.safety.limit_step`, the safety stage's own step) that
follows the reference exactly where the limits allow it and otherwise as closely as they allow:
position (the URDF's, narrowed by the robot config's ``limits.position``, kept
:data:`SERVO_PAD` inside so the servo's tracking error stays within them), velocity (the URDF's,
lowered by ``limits.velocity``) and acceleration (the config's ``limits.acceleration``, per joint
``acceleration_per_joint``; without a config the config default; times :data:`ACCELERATION_SLACK`).
Trajectories from any sender, a
jump to a far posture, a late trajectory or one beyond the limits are all executed within them.
The scales and margin of the retargeter's safety stage are not applied here: they are its
tuning, these are the robot's.

Each step, the servo of joint ``j`` gets the target ``q + (kv / kp) * qdot`` of the limited
command ``(q, qdot)``: the position actuator's force ``kp * (target - q_meas) - kv * qdot_meas``
then equals ``kp * (q - q_meas) + kv * (qdot - qdot_meas)``, a PD controller with velocity
feed-forward, so the joint does not lag behind a moving command.
"""

from __future__ import annotations

import logging
from pathlib import Path

import mujoco
import numpy as np

from ..contracts import NS_PER_S, JointCommand
from ..errors import ConfigError
from ..retarget.config import (
    LimitsConfig, RetargetConfig, marker_sites, position_limits, resolve_mesh_paths, resolve_urdf, rest_positions,
    velocity_limits,
)  # fmt: skip
from ..retarget.safety import limit_step
from ..robot import RobotDescription, default_urdf_path, load_mujoco_model, parse_urdf
from .trajectory import TrajectoryReference

log = logging.getLogger(__name__)

#: The limiter keeps commands this far (rad or m) inside each position limit (at most a quarter of
#: the range), so that the servo's tracking error keeps the measured joint within the limit.
SERVO_PAD = 0.01
#: The limiter allows this times the configured acceleration limits. A trajectory planned at the
#: limit on its own grid (the retargeter's, 100 Hz) changes velocity in steps at its points and,
#: interpolated, accelerates harder than the limit between them: a limiter at exactly the limit
#: falls further behind through every full-acceleration phase and overshoots where the trajectory
#: brakes (measured on strokes from rest to the safety limits and back: 0.038 rad past the
#: retargeter's limits, 0.15 rad from the trajectory; with 1.1x 0.0001 rad and 0.001 rad, with
#: 1.2x 0.0001 rad and 0.0005 rad). The position and velocity limits hold exactly.
ACCELERATION_SLACK = 1.2
#: Joints heavier than this (kg m^2, diagonal of the joint-space inertia at rest) get servo gains
#: scaled up in proportion: every joint then has the bandwidth and damping of one of this inertia.
SERVO_INERTIA = 0.1


class Simulator:
    """A robot in MuJoCo, starting at rest: the robot of ``config`` (a robot config: its URDF,
    skeleton points as sites, mesh paths, rest values) or of ``urdf_path`` alone (default: the
    bundled humanoid, resting at zero).

    Joints that no command names (with a config: those outside its chains, such as legs and
    fingers) are held at their rest values. ``timestep`` (s), servo gains ``kp`` (N m/rad) and
    ``kv`` (N m s/rad), ``armature`` (kg m^2) and ``gravity_compensation`` are passed to
    :func:`~gesture_core.robot.load_mujoco_model`; the gains are those of a joint whose inertia
    (at rest) is at most :data:`SERVO_INERTIA`, a heavier joint's are scaled up by its inertia, so
    a torso that carries the arms follows its command as closely as an elbow (as a real robot's
    servos are tuned per joint).
    """

    def __init__(
        self,
        urdf_path: str | Path | None = None,
        timestep: float = 0.002,
        kp: float = 1000.0,
        kv: float = 40.0,
        armature: float = 0.05,
        gravity_compensation: bool = True,
        config: RetargetConfig | None = None,
    ):
        if not 1e-4 <= timestep <= 0.02:
            raise ConfigError(f"sim.timestep must be in [1e-4, 0.02] s, got {timestep}")
        if kp <= 0 or kv < 0:
            raise ConfigError(f"sim.kp must be > 0 and sim.kv >= 0, got kp={kp}, kv={kv}")
        if urdf_path is not None:
            self.urdf_path = Path(urdf_path)
        else:
            self.urdf_path = resolve_urdf(config) if config is not None else default_urdf_path()
        self.description: RobotDescription = parse_urdf(self.urdf_path)
        sites, mesh_paths, base = {}, [], (0.0, 0.0, 0.0)
        if config is not None:
            sites, mesh_paths = marker_sites(config, self.description), resolve_mesh_paths(config)
            base = tuple(config.base_orientation)
        self.model = load_mujoco_model(
            self.urdf_path, kp, kv, armature, timestep, gravity_compensation,
            sites=sites, mesh_paths=mesh_paths, base_rpy=base,
        )  # fmt: skip
        self.data = mujoco.MjData(self.model)
        self.joint_names = self.description.joint_names
        rest = rest_positions(config, self.description) if config is not None else {}
        #: Rest positions (J,) of every joint: the config's rest values (0 without a config), at
        #: least SERVO_PAD inside the position limits.
        self.rest = np.array([rest.get(n, 0.0) for n in self.joint_names])
        self._qpos = np.array([self.model.joint(n).qposadr[0] for n in self.joint_names])
        self._dof = np.array([self.model.joint(n).dofadr[0] for n in self.joint_names])
        self._act = np.array([self.model.actuator(n).id for n in self.joint_names])
        self._lead = kv / kp  # velocity feed-forward through the position target (s)
        names = self.joint_names
        if config is not None:
            #: Position limits (J,) of every joint (rad or m; +-inf for continuous joints).
            self.lower, self.upper = position_limits(config, self.description, names)
            #: Velocity limits (J,), rad/s (m/s).
            self.velocity_limit = velocity_limits(config, self.description, names)
            limits = config.limits
        else:
            self.lower, self.upper = self.description.limits()
            self.velocity_limit = np.array([self.description.joint(n).velocity for n in names], dtype=float)
            limits = LimitsConfig()
        #: Acceleration limits (J,), rad/s^2, that the limiter holds (the configured ones times
        #: ACCELERATION_SLACK).
        self.acceleration_limit = ACCELERATION_SLACK * np.array(
            [limits.acceleration_per_joint.get(n, limits.acceleration) for n in names]
        )
        with np.errstate(invalid="ignore"):  # inf - inf of continuous joints: no pad
            pad = np.nan_to_num(np.minimum(SERVO_PAD, (self.upper - self.lower) / 4), nan=0.0)
        self._envelope = (self.lower + pad, self.upper - pad)  # where the limiter keeps the command
        self.rest = np.clip(self.rest, *self._envelope)
        self.reset()
        self._scale_servos(kp, kv)

    # ---------------------------------------------------------------------------------------
    # State
    # ---------------------------------------------------------------------------------------

    @property
    def time(self) -> float:
        """Simulation time (s) since construction."""
        return float(self.data.time)

    @property
    def timestep(self) -> float:
        return float(self.model.opt.timestep)

    def positions(self) -> np.ndarray:
        """Joint positions (J,) rad, in :attr:`joint_names` order."""
        return self.data.qpos[self._qpos].copy()

    def velocities(self) -> np.ndarray:
        """Joint velocities (J,) rad/s."""
        return self.data.qvel[self._dof].copy()

    def efforts(self) -> np.ndarray:
        """Joint torques (J,) N m applied by the actuators (servo plus gravity compensation)."""
        return self.data.qfrc_actuator[self._dof].copy()

    def position(self, name: str) -> float:
        """Position (rad) of joint ``name``."""
        return float(self.data.joint(self.description.joint(name).name).qpos[0])

    def reset(self, positions: np.ndarray | None = None) -> None:
        """Back to time 0, at rest at ``positions`` (J,) (default :attr:`rest`), holding them;
        commands dropped."""
        mujoco.mj_resetData(self.model, self.data)
        hold = self.rest.copy() if positions is None else np.asarray(positions, dtype=float)
        hold = np.clip(hold, *self._envelope)
        self.reference = TrajectoryReference(self.joint_names, hold)
        self._command = (hold.copy(), np.zeros_like(hold))  # the limited command: position, velocity
        self._goal: np.ndarray | None = None  # reference at the current time, once sampled
        self.data.qpos[self._qpos] = hold
        mujoco.mj_forward(self.model, self.data)

    def _scale_servos(self, kp: float, kv: float) -> None:
        """Set each joint's servo gains to ``kp``, ``kv`` times ``max(1, inertia / SERVO_INERTIA)``
        (the inertia at the current posture; the velocity lead ``kv / kp`` stays)."""
        inertia = np.zeros((self.model.nv, self.model.nv))
        mujoco.mj_fullM(self.model, self.data, inertia)
        scale = np.maximum(1.0, np.diag(inertia)[self._dof] / SERVO_INERTIA)
        self.model.actuator_gainprm[self._act, 0] = kp * scale
        self.model.actuator_biasprm[self._act, 1] = -kp * scale
        self.model.actuator_biasprm[self._act, 2] = -kv * scale

    def commanded(self) -> tuple[np.ndarray, np.ndarray]:
        """The limited command now: positions (J,) rad and velocities (J,) rad/s (what the servos
        follow; within every limit)."""
        return self._command[0].copy(), self._command[1].copy()

    # ---------------------------------------------------------------------------------------
    # Commands
    # ---------------------------------------------------------------------------------------

    def execute(self, cmd: JointCommand, start: float | None = None) -> None:
        """Follow ``cmd`` from sim time ``start`` (s) on.

        ``start`` defaults to the command's ``stamp_ns`` read as sim time, where 0 means "now" (as
        joint_trajectory_controller treats a zero stamp). A start in the past skips the points
        already due, and the command takes over from where the robot is commanded now. Raises
        ContractError for joints the robot does not have; logs what the limiter will hold back
        (points outside the position limits, steps faster than the velocity limits).
        """
        if start is None:
            start = cmd.stamp_ns / NS_PER_S if cmd.stamp_ns else self.time
        idx = self.reference.indices(cmd.joint_names)
        outside = (cmd.positions < self.lower[idx] - 1e-9) | (cmd.positions > self.upper[idx] + 1e-9)
        if outside.any():
            names = sorted({cmd.joint_names[k] for k in np.flatnonzero(outside.any(axis=0))})
            log.warning(
                "command %s exceeds the position limits of %s; clipped to the limits", cmd.utterance_id, names
            )
        if len(cmd.times) > 1:
            speed = np.abs(np.diff(cmd.positions, axis=0)) / np.diff(cmd.times)[:, None]
            ratio = speed.max(axis=0) / self.velocity_limit[idx]
            if ratio.max() > 1.0 + 1e-6:
                names = [cmd.joint_names[k] for k in np.flatnonzero(ratio > 1.0 + 1e-6)]
                log.warning(
                    "command %s exceeds the velocity limits of %s (up to %.1fx); slowed to the limits",
                    cmd.utterance_id, names, ratio.max(),
                )  # fmt: skip
        self.reference.add(cmd, start, self.time, current=self._command)
        self._goal = None

    def drop_time(self, dt: float) -> None:
        """The caller skipped ``dt`` s of its clock (the simulation could not keep up): move
        everything scheduled ``dt`` earlier in sim time, so it stays at its time on that clock."""
        self.reference.shift(-dt)
        self._goal = None

    def hold(self, positions: dict[str, float]) -> None:
        """Go to ``positions`` (joint name -> rad) now and stay there."""
        names = list(positions)
        self.execute(
            JointCommand("hold", 0, names, np.zeros(1), np.array([[positions[n] for n in names]])), self.time
        )

    # ---------------------------------------------------------------------------------------
    # Time
    # ---------------------------------------------------------------------------------------

    def step(self, n: int = 1) -> None:
        """Advance ``n`` timesteps; before each, the limiter moves the command one step towards
        the reference (see the module docstring) and the servos get it."""
        dt = self.timestep
        lower, upper = self._envelope
        for _ in range(n):
            goal = self._goal if self._goal is not None else self.reference.sample(self.data.time)[0]
            self._goal = self.reference.sample(self.data.time + dt)[0]
            x, _ = self._command
            x_next, v = limit_step(x, self._command[1], goal, self._goal, dt, lower, upper,
                                   self.velocity_limit, self.acceleration_limit)  # fmt: skip
            self.data.ctrl[self._act] = x + self._lead * v
            self._command = (x_next, v)
            mujoco.mj_step(self.model, self.data)
        self.reference.forget_before(self.data.time)

    def advance_to(self, t: float) -> int:
        """Step until sim time reaches ``t`` (s, to within half a step); returns the steps taken."""
        n = int(round((t - self.time) / self.timestep))
        if n > 0:
            self.step(n)
        return max(n, 0)
