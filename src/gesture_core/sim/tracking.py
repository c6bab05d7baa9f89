"""How well the simulated servos follow a trajectory: a test gesture and its RMS tracking error."""

from __future__ import annotations

import numpy as np

from ..contracts import JointCommand
from ..robot import RobotDescription
from .simulator import Simulator


def wave_gesture(
    description: RobotDescription,
    duration: float = 4.0,
    rate: float = 50.0,
    frequency: float = 0.8,
    reach: float = 0.6,
) -> JointCommand:
    """A smooth wave of every movable joint, within its position and velocity limits.

    Joint ``j`` follows ``q(t) = a_j (1 - cos(2 pi f_j t)) / 2``: from rest at 0 out to ``a_j`` and
    back. ``a_j`` is ``reach`` times the larger side of the joint's range (at most 1 rad); ``f_j``
    is ``frequency`` (Hz), lowered where needed so the peak speed ``pi a_j f_j`` stays below 80 % of
    the velocity limit, and then to a whole number of cycles in ``duration`` (where one fits), so
    every joint ends back at rest. Sampled at ``rate`` Hz, with analytic velocities. Times in s,
    rad, rad/s.
    """
    joints = description.movable_joints
    t = np.arange(1, int(round(duration * rate)) + 1) / rate
    amplitude = np.array(
        [np.clip(reach * (j.upper if j.upper >= -j.lower else j.lower), -1.0, 1.0) for j in joints]
    )
    freq = np.array(
        [min(frequency, 0.8 * j.velocity / (np.pi * max(abs(a), 1e-6))) for j, a in zip(joints, amplitude)]
    )
    cycles = np.floor(freq * duration + 1e-9)
    freq = np.where(cycles >= 1, cycles / duration, freq)
    phase = 2 * np.pi * np.outer(t, freq)
    positions = amplitude * (1 - np.cos(phase)) / 2
    velocities = amplitude * np.pi * freq * np.sin(phase)
    return JointCommand("wave", 0, [j.name for j in joints], t, positions, velocities)


def rms_tracking_error(sim: Simulator, cmd: JointCommand, settle: float = 0.5) -> np.ndarray:
    """Execute ``cmd`` now and return each joint's RMS error (J,) rad between reference and motion.

    Sampled every step from the start of the command until ``settle`` s after its last point.
    """
    start = sim.time
    sim.execute(cmd, start)
    errors = []
    while sim.time < start + cmd.times[-1] + settle:
        sim.step()
        q_ref, _ = sim.reference.sample(sim.time)
        errors.append(sim.positions() - q_ref)
    return np.sqrt(np.mean(np.square(errors), axis=0))
