"""A headless MuJoCo simulation of the robot, position-controlled along joint trajectories.

:class:`Simulator` loads a URDF (:func:`gesture_core.robot.load_mujoco_model`), steps at a fixed
timestep and drives every joint's position servo towards a :class:`TrajectoryReference` fed with
:class:`~gesture_core.contracts.JointCommand` s. Time is the simulator's own clock, in seconds from
0 at construction; mapping ROS time onto it is the caller's business (see the sim node).

Each step, the servo of joint ``j`` gets the target ``q_ref + (kv / kp) * qdot_ref``: the position
actuator's force ``kp * (target - q) - kv * qdot`` then equals ``kp * (q_ref - q) + kv * (qdot_ref -
qdot)``, a PD controller with velocity feed-forward, so the joint does not lag behind a moving
reference. Targets are clipped to the joint limits by the actuators' ``ctrlrange``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import mujoco
import numpy as np

from ..contracts import NS_PER_S, JointCommand
from ..errors import ConfigError
from ..retarget.config import RetargetConfig, marker_sites, resolve_mesh_paths, resolve_urdf, rest_positions
from ..robot import RobotDescription, default_urdf_path, load_mujoco_model, parse_urdf
from .trajectory import TrajectoryReference

log = logging.getLogger(__name__)


class Simulator:
    """A robot in MuJoCo, starting at rest: the robot of ``config`` (a robot config: its URDF,
    skeleton points as sites, mesh paths, rest values) or of ``urdf_path`` alone (default: the
    bundled humanoid, resting at zero).

    Joints that no command names (with a config: those outside its chains, such as legs and
    fingers) are held at their rest values. ``timestep`` (s), servo gains ``kp`` (N m/rad) and
    ``kv`` (N m s/rad), ``armature`` (kg m^2) and ``gravity_compensation`` are passed to
    :func:`~gesture_core.robot.load_mujoco_model`.
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
        #: Rest positions (J,) of every joint: the config's rest values (0 without a config).
        self.rest = np.array([rest.get(n, 0.0) for n in self.joint_names])
        self._qpos = np.array([self.model.joint(n).qposadr[0] for n in self.joint_names])
        self._dof = np.array([self.model.joint(n).dofadr[0] for n in self.joint_names])
        self._act = np.array([self.model.actuator(n).id for n in self.joint_names])
        self._lead = kv / kp  # velocity feed-forward through the position target (s)
        self.lower, self.upper = self.description.limits()
        self.reset()

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
        self.reference = TrajectoryReference(self.joint_names, hold)
        self.data.qpos[self._qpos] = hold
        mujoco.mj_forward(self.model, self.data)

    # ---------------------------------------------------------------------------------------
    # Commands
    # ---------------------------------------------------------------------------------------

    def execute(self, cmd: JointCommand, start: float | None = None) -> None:
        """Follow ``cmd`` from sim time ``start`` (s) on.

        ``start`` defaults to the command's ``stamp_ns`` read as sim time, where 0 means "now" (as
        joint_trajectory_controller treats a zero stamp). A start in the past skips the points
        already due. Raises ContractError for joints the robot does not have; logs points outside
        the joint limits (the servos clip them).
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
        self.reference.add(cmd, start, self.time)

    def drop_time(self, dt: float) -> None:
        """The caller skipped ``dt`` s of its clock (the simulation could not keep up): move
        everything scheduled ``dt`` earlier in sim time, so it stays at its time on that clock."""
        self.reference.shift(-dt)

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
        """Advance ``n`` timesteps, updating the servo targets from the reference before each."""
        for _ in range(n):
            q_ref, qd_ref = self.reference.sample(self.data.time)
            self.data.ctrl[self._act] = q_ref + self._lead * qd_ref
            mujoco.mj_step(self.model, self.data)
        self.reference.forget_before(self.data.time)

    def advance_to(self, t: float) -> int:
        """Step until sim time reaches ``t`` (s, to within half a step); returns the steps taken."""
        n = int(round((t - self.time) / self.timestep))
        if n > 0:
            self.step(n)
        return max(n, 0)
