"""Retargeting TED human poses onto a URDF robot by matching bone directions.

The robot carries fixed marker links at the TED joints (``ted_left_elbow``, ...). For every frame
the :class:`Retargeter` finds joint angles whose marker-to-marker directions match the human's bone
directions as closely as the joints allow:

    minimise  sum_b w_b |u_b(q) - d_b|^2 + lambda |q - q_rest|^2   subject to  lower <= q <= upper

with ``u_b(q)`` the unit vector between bone ``b``'s two markers (MuJoCo forward kinematics) and
``d_b`` the human bone direction turned into REP-103 axes (``skeleton.TED_TO_REP103``; the person
and the robot both face the listener, so the person's left arm drives the robot's left arm).

Each chain of the configuration (torso, head, arms) is solved on its own joints and bones by
Levenberg-Marquardt steps projected onto the joint limits (:meth:`Retargeter.solve`); all chains
share one kinematics pass per iteration, so the arms match *world* directions whatever the torso
does. Each frame is warm-started from the previous one; a chain that ends far from its targets is
re-solved from a few other postures (:meth:`Retargeter._restarted`), which gets it out of the
local minima that joint limits and a straight elbow create. Joints that move no marker (wrist
rotations) stay at rest.

The Jacobian of a marker position comes from MuJoCo (``mj_jacBody``); the unit vector's Jacobian
follows by the chain rule, ``du/dq = (I - u u^T) / |p| * (J_child - J_parent)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np

from .. import skeleton
from ..errors import ConfigError, ContractError
from ..robot import RobotDescription, load_mujoco_model, parse_urdf
from .config import (
    SITE_PREFIX,
    RetargetConfig,
    check_against_robot,
    marker_sites,
    position_limits,
    resolve_urdf,
    rest_positions,
    velocity_limits,
)

log = logging.getLogger(__name__)

#: Bone vectors shorter than this (or non-finite) have no direction and are repaired.
MIN_BONE_NORM = 1e-6
#: Bone vectors whose length differs from 1 by more than this are normalised with a warning (TED
#: poses are unit directions: such input is probably in another format; a cross-fade of two unit
#: vectors, as between streaming windows, stays above 0.5 unless they point apart by over 120 deg).
UNIT_TOLERANCE = 0.5
#: The IK may move a joint between two frames by this many times what its velocity limit allows:
#: enough to follow any motion the safety stage could (it has the final say on speed), far too
#: little for a flip to the other IK branch (~pi in one frame).
STEP_HEADROOM = 2.0


@dataclass(frozen=True)
class _Chain:
    """Index arrays of one chain: its joints (columns of q) and its bones (rows of the bone table)."""

    name: str
    joints: np.ndarray  # (n,) int, columns into the J retargeted joints
    bones: np.ndarray  # (b,) int, rows into the bone table


def load_robot(cfg: RetargetConfig) -> tuple[RobotDescription, mujoco.MjModel]:
    """Parse the URDF of ``cfg``, check the config's names against it, and build its MuJoCo model
    for kinematics: the skeleton points as sites, no meshes, no floor."""
    path = resolve_urdf(cfg)
    robot = parse_urdf(path)
    check_against_robot(cfg, robot)
    model = load_mujoco_model(
        path, floor=False, sites=marker_sites(cfg, robot), meshes=False, base_rpy=cfg.base_orientation
    )
    return robot, model


def scale_amplitude(directions: np.ndarray, scale: float) -> np.ndarray:
    """Scale gestures around the TED mean pose: ``d' = normalise(mean + scale * (d - mean))``.

    ``directions``: (N, 9, 3) unit bone directions. A bone whose scaled vector vanishes (possible
    only for scale < 1 and a bone opposite its mean) takes the mean direction.
    """
    if scale == 1.0:
        return directions
    mean = skeleton.as_directions(skeleton.MEAN_DIR_VEC)
    mean = mean / np.linalg.norm(mean, axis=-1, keepdims=True)
    scaled = mean + scale * (directions - mean)
    norm = np.linalg.norm(scaled, axis=-1, keepdims=True)
    return np.where(norm > MIN_BONE_NORM, scaled / np.maximum(norm, MIN_BONE_NORM), mean)


class Retargeter:
    """Human TED poses -> robot joint positions for the chains of a :class:`RetargetConfig`.

    ``joint_names``: the J retargeted joints (chain by chain), the columns of every joint array.
    ``lower``/``upper``: (J,) the URDF limits less ``cfg.limits.margin``; ``rest``: (J,) rest pose;
    ``observed``: (J,) False for joints that move no marker (e.g. wrist rotations), held at rest.
    """

    def __init__(self, cfg: RetargetConfig, robot: RobotDescription | None = None, model: mujoco.MjModel | None = None):
        if robot is None or model is None:
            robot, model = load_robot(cfg)
        self.robot = robot
        self.model = model
        self.data = mujoco.MjData(model)
        self.joint_names = cfg.joint_names
        self._layout = (cfg.chains, cfg.markers)  # baked into the bone table below
        self._qpos_adr = np.array([model.joint(n).qposadr[0] for n in self.joint_names])
        self._dof_adr = np.array([model.joint(n).dofadr[0] for n in self.joint_names])
        # The bone table: one row per matched bone, in chain order.
        bones, self._chains = [], []
        markers = {ted: model.site(SITE_PREFIX + ted).id for ted in cfg.markers}
        for name, chain in cfg.chains.items():
            rows = np.arange(len(bones), len(bones) + len(chain.bones))
            for bone, weight in chain.bones.items():
                b = skeleton.BONE_NAMES.index(bone)
                parent, child = skeleton.BONES[b]
                bones.append((b, markers[skeleton.JOINTS[parent]], markers[skeleton.JOINTS[child]], weight))
            cols = np.array([self.joint_names.index(j) for j in chain.joints])
            self._chains.append(_Chain(name, cols, rows))
        self._bone_index = np.array([b[0] for b in bones])
        #: TED bone names of the bone table, in order (the rows of :meth:`residuals`).
        self.bones = [skeleton.BONE_NAMES[b[0]] for b in bones]
        self._sites, body_rows = np.unique([[b[1], b[2]] for b in bones], return_inverse=True)
        self._bone_parent, self._bone_child = body_rows.reshape(-1, 2).T  # rows into self._sites
        self._bone_weight = np.sqrt(np.array([b[3] for b in bones]))[:, None]
        self._jacs = np.zeros((len(self._sites), 3, model.nv))  # one MuJoCo Jacobian per marker site
        # (C, B) and (C, J) selectors: sum per-bone / per-joint terms into per-chain objectives
        self._chain_bones = np.zeros((len(self._chains), len(bones)))
        self._chain_joints = np.zeros((len(self._chains), len(self.joint_names)))
        for i, chain in enumerate(self._chains):
            self._chain_bones[i, chain.bones] = 1.0
            self._chain_joints[i, chain.joints] = 1.0
        self._joint_chain = np.argmax(self._chain_joints, axis=0)  # (J,) chain of every joint
        self._own_joints = self._chain_bones.T @ self._chain_joints  # (B, J): 1 where the bone's chain owns the joint
        self.configure(cfg)

    def configure(self, cfg: RetargetConfig) -> None:
        """Take the amplitude, margin, rest pose and IK settings of ``cfg`` (same robot, joints and
        markers)."""
        if (cfg.chains, cfg.markers) != self._layout:
            raise ConfigError("chains, markers: configure() cannot change them; build a new Retargeter")
        self.cfg = cfg
        lower, upper = position_limits(cfg, self.robot, self.joint_names)
        self.lower = lower + cfg.limits.margin
        self.upper = upper - cfg.limits.margin
        # joints outside the chains stay at their rest values (as the simulation holds them)
        for joint, value in rest_positions(cfg, self.robot).items():
            self.data.qpos[self.model.joint(joint).qposadr[0]] = value
        #: Largest change of each joint between two frames (J,) rad: ``STEP_HEADROOM`` times what
        #: the safety stage's velocity limit allows. Keeps the solution on one branch (see :meth:`retarget`).
        velocity = velocity_limits(cfg, self.robot, self.joint_names)
        self.max_step = STEP_HEADROOM * velocity * cfg.limits.velocity_scale * cfg.speed_scale / skeleton.FPS
        self.rest = np.clip([cfg.rest_pose.get(n, 0.0) for n in self.joint_names], self.lower, self.upper)
        # Joints that move no marker in any probed posture (a wrist rotation) are unobserved: they
        # stay at rest. Restart postures: the rest pose, then fixed pseudo-random postures.
        rng = np.random.default_rng(0)
        postures = [rng.uniform(self.lower, self.upper) for _ in range(max(cfg.ik.restarts, 3))]
        no_targets = np.zeros((len(self.bones), 3))
        reach = np.max([np.max(np.abs(self.residuals(q, no_targets)[1]), axis=(0, 1)) for q in postures], axis=0)
        self.observed = reach > 1e-9
        self._seeds = [self.rest] + [np.where(self.observed, q, self.rest) for q in postures[: cfg.ik.restarts]]

    # -- forward kinematics ----------------------------------------------------------------------

    def _kinematics(self, q: np.ndarray) -> None:
        self.data.qpos[self._qpos_adr] = q
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_comPos(self.model, self.data)  # the Jacobians need cdof

    def marker_positions(self, q: np.ndarray) -> dict[str, np.ndarray]:
        """World positions (3,) m, REP-103, of every marker at joint positions ``q`` (J,)."""
        self._kinematics(np.asarray(q, dtype=np.float64))
        return {ted: self.data.site(SITE_PREFIX + ted).xpos.copy() for ted in self.cfg.markers}

    def bone_directions(self, q: np.ndarray) -> np.ndarray:
        """The robot's TED pose at ``q`` (J,): (27,) unit bone directions in TED axes; bones without
        both markers are NaN."""
        pos = self.marker_positions(q)
        out = np.full((skeleton.N_BONES, 3), np.nan)
        for b, (parent, child) in enumerate(skeleton.BONES):
            p, c = skeleton.JOINTS[parent], skeleton.JOINTS[child]
            if p in pos and c in pos:
                v = pos[c] - pos[p]
                out[b] = skeleton.TED_TO_REP103.T @ (v / np.linalg.norm(v))
        return out.ravel()

    def residuals(self, q: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted direction errors ``sqrt(w_b) (u_b(q) - d_b)`` (B, 3) and their Jacobian
        (B, 3, J) at ``q`` (J,), for ``targets`` (B, 3) in bone-table order (:attr:`bones`)."""
        self._kinematics(q)
        for i, site in enumerate(self._sites):
            mujoco.mj_jacSite(self.model, self.data, self._jacs[i], None, site)
        jac = self._jacs[:, :, self._dof_adr]
        pos = self.data.site_xpos[self._sites]
        vec = pos[self._bone_child] - pos[self._bone_parent]
        length = np.linalg.norm(vec, axis=1, keepdims=True)
        u = vec / length
        projector = (np.eye(3) - u[:, :, None] * u[:, None, :]) / length[:, :, None]
        du = projector @ (jac[self._bone_child] - jac[self._bone_parent])
        w = self._bone_weight
        return w * (u - targets), w[:, :, None] * du

    # -- inverse kinematics ----------------------------------------------------------------------

    def _chain_costs(self, q: np.ndarray, r: np.ndarray) -> np.ndarray:
        """Objective of every chain (C,): weighted squared direction errors plus the rest pull."""
        return self._chain_bones @ np.sum(r * r, axis=1) + self.cfg.ik.rest_weight * (self._chain_joints @ (q - self.rest) ** 2)

    def _evaluate(self, q: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per chain (C,): the objective, and the worst bone-direction error as the chord |u - d|
        (about the angle in rad for small errors)."""
        r, _ = self.residuals(q, targets)
        err = np.linalg.norm(r / self._bone_weight, axis=1)
        return self._chain_costs(q, r), np.max(self._chain_bones * err, axis=1)

    def solve(
        self, targets: np.ndarray, q0: np.ndarray, bounds: tuple[np.ndarray, np.ndarray] | None = None
    ) -> np.ndarray:
        """Joint positions (J,) whose bones point along ``targets`` (B, 3) (REP-103 unit vectors of
        the configured bones, in bone-table order), starting from ``q0`` (J,), within ``bounds``
        (lower (J,), upper (J,); default: the joint limits less the margin).

        Levenberg-Marquardt, one damping per chain: every bone only sees its own chain's joints,
        so the normal equations are block diagonal and one solve steps all chains at once. A
        chain's step is kept when it lowers that chain's objective (and its damping relaxed), else
        undone (and its damping raised); the adaptive damping carries the solve through singular
        postures such as a straight elbow. Steps are projected onto the joint limits. Stops when
        no joint moves more than ``tolerance`` (rad) or the objective gains less than
        ``tolerance^2`` plus 0.1 % of itself.
        """
        ik = self.cfg.ik
        lower, upper = bounds if bounds is not None else (self.lower, self.upper)
        q = np.where(self.observed, np.clip(q0, lower, upper), self.rest)
        r, jac = self.residuals(q, targets)
        cost = self._chain_costs(q, r)
        mu = np.full(len(self._chains), ik.damping)
        for _ in range(ik.iterations):
            own = (jac * self._own_joints[:, None, :]).reshape(-1, len(q))
            lhs = own.T @ own + np.diag(ik.rest_weight + mu[self._joint_chain])
            rhs = own.T @ r.reshape(-1) + ik.rest_weight * (q - self.rest)
            trial = np.clip(q - np.linalg.solve(lhs, rhs), lower, upper)
            r_trial, jac_trial = self.residuals(trial, targets)
            cost_trial = self._chain_costs(trial, r_trial)
            better = cost_trial < cost
            mu = np.where(better, np.maximum(mu / 3.0, ik.damping), mu * 4.0)
            gain = float(np.sum((cost - cost_trial)[better]))
            keep = better[self._joint_chain]
            moved = float(np.max(np.abs(trial - q)[keep], initial=0.0))
            if better.all():
                q, r, jac, cost = trial, r_trial, jac_trial, cost_trial
            elif better.any():  # some chains stepped, some did not: evaluate that posture
                q = np.where(keep, trial, q)
                r, jac = self.residuals(q, targets)
                cost = self._chain_costs(q, r)
            if gain < ik.tolerance**2 + 1e-3 * float(np.sum(cost)) or (better.any() and moved < ik.tolerance):
                break
        return q

    def targets(self, poses: np.ndarray) -> np.ndarray:
        """Bone-table targets (N, B, 3), REP-103, from TED poses (N, 27): repaired (logged),
        amplitude-scaled, unit length."""
        d = self.repaired_directions(poses)
        d = scale_amplitude(d, self.cfg.amplitude_scale)
        return d[:, self._bone_index] @ skeleton.TED_TO_REP103.T

    def step_bounds(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where the next frame's solution may lie, from ``q`` (J,): within the joint limits (less
        the margin) and within :attr:`max_step` of ``q``."""
        q = np.clip(q, self.lower, self.upper)
        return np.maximum(self.lower, q - self.max_step), np.minimum(self.upper, q + self.max_step)

    def retarget(self, poses: np.ndarray, q_init: np.ndarray | None = None, continues: bool = False) -> np.ndarray:
        """Joint positions (N, J), rad, for TED poses (N, 27) (unit bone directions, TED axes).

        ``q_init``: (J,) warm start of the first frame (default: the rest pose); each later frame
        starts from the previous solution. Bad bone vectors are repaired (see
        :meth:`repaired_directions`); a wrong shape raises :class:`ContractError`.

        Branch continuity: every frame after the first (and the first too when ``continues``, i.e.
        ``q_init`` is the previous frame's solution) stays within :attr:`max_step` of the frame
        before, the step the velocity limits allow. Where the human motion passes a singular pose
        (a straight elbow, where the upper arm's twist is free) the IK would otherwise jump to the
        other branch in one frame (a flip of the shoulder by ~pi); bounded, it turns over within
        a few frames, at a speed the safety stage can follow.
        """
        targets = self.targets(poses)
        q = self.rest.copy() if q_init is None else np.asarray(q_init, dtype=np.float64)
        if q.shape != self.rest.shape or not np.all(np.isfinite(q)):
            raise ContractError(f"q_init must be {self.rest.shape[0]} finite joint positions, got {q!r}")
        out = np.empty((len(targets), len(self.joint_names)))
        ik = self.cfg.ik
        next_retry = np.zeros(len(self._chains), dtype=int)  # frame from which a chain may restart again
        interval = np.full(len(self._chains), ik.retry_interval)
        moving = np.zeros(len(self.joint_names), dtype=bool)  # joints on their way to another branch
        goal = q.copy()  # ... tracked there, unbounded
        for k, frame in enumerate(targets):
            bounded = k > 0 or continues
            bounds = self.step_bounds(q) if bounded else None
            if moving.any():  # follow the better branch as it moves, and step towards it
                goal = self.solve(frame, np.where(moving, goal, q))
                step = self.max_step / STEP_HEADROOM  # at the velocity limit: the safety stage follows exactly
                q = np.where(moving, q + np.clip(goal - q, -step, step), q)
                moving &= np.abs(goal - q) > 1e-9
                q = np.where(moving, q, self.solve(frame, q, self.step_bounds(q)))
                out[k] = q
                continue
            q = self.solve(frame, q, bounds)
            cost, err = self._evaluate(q, frame)
            retry = (err > ik.retry_error) & (k >= next_retry)
            if retry.any():
                # restarts search the whole joint space; a better branch out of reach of one step is
                # then approached over the next frames instead of jumped to
                better, improved = self._restarted(frame, q, cost, retry)
                if bounded:
                    far = np.abs(better - q) > self.max_step
                    chains_far = (self._chain_joints @ far > 0) & improved
                    moving = chains_far[self._joint_chain]
                    goal = better
                    q = np.where(moving, q, np.clip(better, *bounds))
                else:
                    q = better
                # a chain that restarts in vain (an unreachable target) waits twice as long next time
                interval = np.where(retry & ~improved, np.minimum(2 * interval, 16 * ik.retry_interval), interval)
                interval[improved] = ik.retry_interval
                next_retry[retry] = k + interval[retry]
            out[k] = q
        return out

    def _escape(self, cost: np.ndarray) -> np.ndarray:
        """The objective (C,) a restart must beat to replace a solution of objective ``cost``: half
        of it, and less by ``(retry_error / 2)^2``. Only a real escape from a trap counts; a merely
        different solution (of a redundant arm, of an unreachable target) would make the motion jump."""
        return np.minimum(0.5 * cost, cost - (0.5 * self.cfg.ik.retry_error) ** 2)

    def _restarted(
        self,
        targets: np.ndarray,
        q: np.ndarray,
        cost: np.ndarray,
        retry: np.ndarray,
        bounds: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Re-solve the chains flagged in ``retry`` (C,) from every restart posture and keep, per
        chain, the solution of lowest objective if it is a real escape (:meth:`_escape`).
        Returns it and which chains (C,) it improved.

        Local minima (a straight elbow, a joint limit) can trap a warm-started solve. A chain whose
        error exceeds ``ik.retry_error`` restarts at most once per ``ik.retry_interval`` frames (an
        interval that doubles, up to 16x, while restarts find nothing better), so a target the
        robot cannot reach costs a few rounds of restarts, not one per frame. Within ``bounds``
        (the step bounds of :meth:`retarget`) the restarts start from the seeds moved into them.
        """
        best, improved = q.copy(), np.zeros(len(self._chains), dtype=bool)
        cost = self._escape(cost)
        for seed in self._seeds:
            start = q.copy()
            for chain in (c for c, r in zip(self._chains, retry) if r):
                start[chain.joints] = seed[chain.joints]
            candidate = self.solve(targets, start, bounds)
            candidate_cost, _ = self._evaluate(candidate, targets)
            for i, chain in enumerate(self._chains):
                if retry[i] and candidate_cost[i] < cost[i]:
                    best[chain.joints], cost[i], improved[i] = candidate[chain.joints], candidate_cost[i], True
        if not improved.any():
            return q, improved
        return self.solve(targets, best, bounds), improved  # chains picked from different runs: settle them together

    @staticmethod
    def repaired_directions(poses: Any) -> np.ndarray:
        """Unit bone directions (N, 9, 3) from TED poses (N, 27).

        A bone vector that is NaN/inf or shorter than ``MIN_BONE_NORM`` takes the same bone's
        direction from the previous frame (the TED mean pose for the first frame); every repair is
        logged (error), and so are vectors normalised from a length more than ``UNIT_TOLERANCE``
        away from 1 (warning). Raises :class:`ContractError` unless the input is a non-empty (N, 27) array.
        """
        try:
            arr = np.asarray(poses, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ContractError(f"TED poses are not numeric: {exc}") from None
        if arr.ndim != 2 or arr.shape[1] != skeleton.POSE_DIM or arr.shape[0] == 0:
            raise ContractError(f"TED poses must be (N>0, {skeleton.POSE_DIM}), got shape {arr.shape}")
        d = arr.reshape(len(arr), skeleton.N_BONES, 3)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            norm = np.linalg.norm(d, axis=-1)
            bad = ~np.all(np.isfinite(d), axis=-1) | (norm < MIN_BONE_NORM)
            big = np.max(np.abs(d), axis=-1, keepdims=True)  # rescale first: huge vectors overflow |d|
            out = d / np.where(bad[..., None], 1.0, big)
            out /= np.linalg.norm(out, axis=-1, keepdims=True)
            off = ~bad & ~(np.abs(norm - 1.0) <= UNIT_TOLERANCE)  # inf norm of a huge vector: off
        if off.any():
            frames, bones = np.nonzero(off)
            log.warning(
                "normalised %d bone vectors whose length was not 1 +- %g (first: frame %d, bone %s, length %.3g): "
                "TED poses are unit directions",
                int(off.sum()), UNIT_TOLERANCE, int(frames[0]), skeleton.BONE_NAMES[bones[0]],
                float(norm[frames[0], bones[0]]),
            )  # fmt: skip
        if bad.any():
            mean = skeleton.as_directions(skeleton.MEAN_DIR_VEC)
            previous = mean / np.linalg.norm(mean, axis=-1, keepdims=True)
            for k in range(len(d)):
                out[k][bad[k]] = previous[bad[k]]
                previous = out[k]
            frames, bones = np.nonzero(bad)
            log.error(
                "repaired %d bone vectors that were NaN/inf or zero-length (first: frame %d, bone %s)",
                int(bad.sum()), int(frames[0]), skeleton.BONE_NAMES[bones[0]],
            )  # fmt: skip
        return out
