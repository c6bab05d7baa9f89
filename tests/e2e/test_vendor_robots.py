"""Real robots by configuration alone: NAO, Pepper (qiBullet's URDFs) and iCub (icub-models' URDF),
their files untouched, through the core and through the whole ROS graph.

The graph test follows the README's "Bringing your own robot" lines literally (draft, check and
run Pepper from its URDF), and while that graph speaks, the three bundled vendor configs run their
own retarget and sim nodes beside it (the commands ``--robot <config path>`` gives, in a namespace
each), on the same gestures: one speech pipeline for four robots. They live in a second DDS
domain (so the README graph's recorder records only its own robot), and the test relays the
generator's ``gesture/human_pose`` messages to it as they come.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gesture_core import contracts as c
from gesture_core.retarget.config import (
    default_config_path,
    load_config,
    position_limits,
    resolve_urdf,
    rest_positions,
    velocity_limits,
)
from gesture_core.retarget.ik import Retargeter
from gesture_core.robot import parse_urdf
from gesture_core.robot_check import raised_left_arm
from gesture_core.sim import Simulator
from gesture_core.sim.trajectory import TrajectoryReference

from locations import ROOT  # noqa: E402
VENDORS = ["nao", "pepper", "icub"]
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("qibullet") is None or importlib.util.find_spec("icub_models") is None,
    reason="vendor robot packages not installed (make setup installs requirements/robots.txt)",
)
#: A joint state may pass a position limit by this much (rad): the contact solver's softness.
LIMIT_SLACK = 1e-3
#: A joint state may pass a velocity limit by this factor (the servo's overshoot; the fault suite's bound).
VELOCITY_SLACK = 1.05
#: Best-lag RMS between commanded and measured joints over the whole run must stay below this (rad).
#: Measured 0.004-0.005 rad on an idle machine before the simulator enforced the robots' limits on
#: what it executes (#16), 0.033-0.047 rad after: its limiter, at exactly the configured
#: acceleration, lagged the retargeter's trajectories (planned at that limit) through every
#: acceleration and overshot where they braked. With the sim's ACCELERATION_SLACK the limited
#: command follows the trajectory within 0.001 rad; measured here on 2 loaded cores: nao 0.0083,
#: pepper 0.0230, icub 0.0242, the README's pepper 0.0008 rad: the rest is the servos of the vendor
#: robots (effort limits of their light joints) and the load.
TRACKING_RMS = 0.05


def config(name: str) -> Path:
    return default_config_path(f"retarget_{name}.yaml")


@pytest.mark.parametrize("name", VENDORS)
def test_vendor_config_loads_its_untouched_urdf_and_holds_every_joint_at_rest(name, caplog):
    cfg = load_config(config(name))
    urdf = resolve_urdf(cfg)
    before = hashlib.sha256(urdf.read_bytes()).hexdigest()
    with caplog.at_level(logging.WARNING):
        sim = Simulator(config=cfg)
    assert hashlib.sha256(urdf.read_bytes()).hexdigest() == before  # read, never written
    assert "site-packages" in str(urdf) or "share" in str(urdf)  # the vendor package's own file
    meshes = [r.getMessage() for r in caplog.records if "mesh references could not be used" in r.getMessage()]
    if name == "icub":
        assert sim.model.nmesh > 30 and meshes == []  # its meshes, found through package://iCub
    else:  # qiBullet's meshes are encrypted: primitives, one warning saying why
        assert sim.model.nmesh == 0 and len(meshes) == 1 and "is encrypted" in meshes[0]
    chain_joints = set(cfg.joint_names)
    held = [n for n in sim.joint_names if n not in chain_joints]
    assert len(held) >= 12  # legs, hands, fingers, wheels: never commanded
    sim.step(500)  # 1 s with gravity on
    chain = np.isin(sim.joint_names, list(chain_joints))
    np.testing.assert_allclose(sim.positions()[chain], sim.rest[chain], atol=0.005)
    # fingers are held too, within their servos' small effort limits against gravity
    np.testing.assert_allclose(sim.positions(), sim.rest, atol=0.02)


def test_the_left_right_check_passes_for_every_vendor_robot():
    from gesture_core.robot_check import left_right_check

    for name in VENDORS:
        ok, measured = left_right_check(Retargeter(load_config(config(name))))
        assert ok, (name, measured)


class RobotWatch:
    """Joint states and trajectories of one robot (topics under ``ns``) as ``node`` receives them."""

    def __init__(self, node, ns: str, name: str):
        from sensor_msgs.msg import JointState
        from trajectory_msgs.msg import JointTrajectory

        self.name = name
        self.stamps: list[int] = []
        self.positions: list[dict[str, float]] = []
        self.velocities: list[dict[str, float]] = []
        self.commands: list[c.JointCommand] = []
        node.create_subscription(JointState, f"{ns}/{c.JOINT_STATES.name}", self._on_state, 200)
        node.create_subscription(
            JointTrajectory, f"{ns}/{c.JOINT_TRAJECTORY.name}", lambda m: self.commands.append(c.decode_joint_trajectory(m)), 20
        )

    def _on_state(self, msg) -> None:
        self.stamps.append(c.stamp_to_ns(msg.header.stamp))
        self.positions.append(dict(zip(msg.name, msg.position)))
        self.velocities.append(dict(zip(msg.name, msg.velocity)))

    def q(self, names: list[str], k: int = -1) -> np.ndarray:
        return np.array([self.positions[k][n] for n in names])

    def violations(self, cfg) -> tuple[int, int, float]:
        """(position violations, velocity violations, samples) against the limits the robot config
        declares (URDF narrowed by the config for chain joints, the URDF's for the others)."""
        robot = parse_urdf(resolve_urdf(cfg))
        names = robot.joint_names
        lower, upper = position_limits(cfg, robot, names)
        vmax = velocity_limits(cfg, robot, names)
        missing = {n for p in self.positions for n in names if n not in p}
        assert not missing, f"{self.name}: joint_states without {sorted(missing)[:5]}; names seen: " + str(
            sorted({tuple(sorted(p))[:4] + (len(p),) for p in self.positions})
        )
        q = np.array([[p[n] for n in names] for p in self.positions])
        v = np.array([[p[n] for n in names] for p in self.velocities])
        pos = int(np.sum((q < lower - LIMIT_SLACK) | (q > upper + LIMIT_SLACK)))
        vel = int(np.sum(np.abs(v) > VELOCITY_SLACK * vmax))
        self.worst_speed = float(np.max(np.abs(v) / vmax))
        return pos, vel, q.size

    def tracking_rms(self, cfg) -> tuple[float, float]:
        """(best RMS over lags 0-150 ms, that lag): the chain joints against the commanded
        reference, from the end of the last start-up rest command on (the retargeter commands the
        rest pose whenever a subscriber appears; one sent before the sim subscribed is not the sim's)."""
        names = cfg.joint_names
        ref = TrajectoryReference(names, np.array([rest_positions(cfg, parse_urdf(resolve_urdf(cfg)))[n] for n in names]))
        for cmd in self.commands:
            start = cmd.stamp_ns / c.NS_PER_S
            ref.add(cmd, start=start, now=start)
        first_gesture = min(cmd.stamp_ns for cmd in self.commands if cmd.utterance_id != "rest")
        begin = 0.2 + max(
            (cmd.stamp_ns / c.NS_PER_S + cmd.times[-1] for cmd in self.commands
             if cmd.utterance_id == "rest" and cmd.stamp_ns < first_gesture),
            default=0.0,
        )  # fmt: skip
        t = np.array(self.stamps) / c.NS_PER_S
        keep = t > begin
        q = np.array([[p[n] for n in names] for p, k in zip(self.positions, keep) if k])
        best = (np.inf, 0.0)
        for lag in np.arange(0.0, 0.151, 0.01):
            q_ref = np.stack([ref.sample(ti - lag)[0] for ti in t[keep]])
            best = min(best, (float(np.sqrt(np.mean((q - q_ref) ** 2))), round(float(lag), 2)))
        return best


def readme_commands() -> list[str]:
    """The command lines of the README's "Bringing your own robot" code block."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Bringing your own robot") :]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)
    return [line for line in block.splitlines() if line.strip()]


@pytest.mark.ros
@pytest.mark.slow
def test_readme_steps_and_the_vendor_robots_gesture_through_the_ros_graph(ros, tmp_path):
    from gesture_bringup import cli, graph
    from gesture_ros.ros_io import msg_class

    bindir = str(Path(sys.executable).parent) + "/"
    init, check, run = [shlex.split(line.replace(".venv/bin/", bindir)) for line in readme_commands()]
    assert Path(init[0]).name == "gesture-robot" and init[1] == "init"
    assert Path(check[0]).name == "gesture-robot" and check[1] == "check"
    assert Path(run[0]).name == "gesture-bringup" and run[1:3] == ["--robot", "my_robot.yaml"]

    # beside the README's robot: the bundled vendor configs, each retarget + sim pair started with
    # exactly what --robot <config path> gives them, in a namespace, in a second DDS domain
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    domain = int(os.environ["ROS_DOMAIN_ID"])
    vendor_domain = (domain + 50) % 100 + 1
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=vendor_domain)
    node = rclpy.create_node("vendor_harness", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    pose_msg = msg_class(c.HUMAN_POSE)
    relay = node.create_publisher(pose_msg, c.HUMAN_POSE.name, c.HUMAN_POSE.depth)
    ros.node.create_subscription(pose_msg, c.HUMAN_POSE.name, relay.publish, c.HUMAN_POSE.depth)

    def both(predicate):  # spin the vendor domain too while the harness waits
        return lambda: (executor.spin_once(timeout_sec=0.02), predicate())[1]

    watches = {}
    os.environ["ROS_DOMAIN_ID"] = str(vendor_domain)  # inherited by the vendor node processes
    try:
        for name in VENDORS:
            args = graph.with_defaults({"robot": str(config(name)), "render": "false"})
            for process in graph.plan(args):
                spec = process.spec
                if spec.name in ("retarget", "mujoco_sim"):
                    cmd = cli.node_command(process, tmp_path / "params" / name)
                    remaps = ["-r", f"__ns:=/{name}", "-r", f"{c.HUMAN_POSE.name}:=/{c.HUMAN_POSE.name}"]
                    ros.start(spec.module, args=cmd[cmd.index(spec.module) + 1 :] + remaps)
            watches[name] = RobotWatch(node, f"/{name}", name)
    finally:
        os.environ["ROS_DOMAIN_ID"] = str(domain)
    watches["readme"] = RobotWatch(ros.node, "", "pepper, drafted by gesture-robot init")
    vendors = {n: w for n, w in watches.items() if n != "readme"}
    try:
        _run_readme_and_check(ros, tmp_path, init, check, run, watches, vendors, both, relay)
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)


def _run_readme_and_check(ros, tmp_path, init, check, run, watches, vendors, both, relay) -> None:
    from gesture_core.contracts import GestureSequence

    ros.spin_until(both(lambda: all(len(w.stamps) > 5 for w in vendors.values())), 180, "the vendor sims")
    ros.spin_until(both(lambda: relay.get_subscription_count() >= 3), 60, "the vendor retargeters")

    # the README, line by line
    subprocess.run(init, cwd=tmp_path, check=True, timeout=120)
    done = subprocess.run(check, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "left/right:" in done.stdout and (tmp_path / "my_robot.png").stat().st_size > 20_000
    bringup = subprocess.Popen(
        run + ["--output", str(tmp_path / "out"), "--quiet", "--render", "false", "--startup-timeout", "300"], cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        ros.spin_until(both(lambda: bringup.poll() is not None), 420, "the README's gesture-bringup to finish")
    finally:
        if bringup.poll() is None:
            bringup.kill()
    log = bringup.stdout.read()
    # the robot said its sentence, gestured and came back to rest. (Not asserted: the exit code of
    # the video/picture step after it, which fails when gesture-bringup's recorder discovers
    # speech/utterance after the start event went out: a race of its topic discovery on a loaded
    # machine, outside this test's subject.)
    assert "speech over and the robot is back at rest" in log, log
    uid = re.search(r"utterance (tts-\S+):", log).group(1)
    for name, w in watches.items():
        assert any(cmd.utterance_id == uid for cmd in w.commands), f"{name} did not gesture with the speech"

    # left/right through the graph: a person raising the left arm sideways, sent to the generator's topic
    pub = ros.publisher(c.HUMAN_POSE)
    start_ns = ros.node.get_clock().now().nanoseconds + c.NS_PER_S
    seq = GestureSequence("left-arm", start_ns, np.tile(raised_left_arm(), (30, 1)))
    pub.publish(c.encode_human_pose(pub.msg_type(), seq))
    held_ns = start_ns + round(1.9 * c.NS_PER_S)
    ros.spin_until(both(lambda: all(w.stamps[-1] > held_ns for w in vendors.values())), 60, "the raised arm held")

    report = []
    for name, w in watches.items():
        cfg = load_config(config(name) if name in VENDORS else tmp_path / "my_robot.yaml")
        pos, vel, samples = w.violations(cfg)
        rms, lag = w.tracking_rms(cfg)
        lr = ""
        if name in VENDORS:
            r = Retargeter(cfg)
            before = next(k for k in range(len(w.stamps)) if w.stamps[k] > start_ns - c.NS_PER_S // 2)
            held = next(k for k in range(len(w.stamps)) if w.stamps[k] > held_ns)
            rest, up = r.marker_positions(w.q(r.joint_names, before)), r.marker_positions(w.q(r.joint_names, held))
            scale = np.linalg.norm(rest["left_elbow"] - rest["left_shoulder"])
            rise, out = up["left_wrist"][2] - rest["left_wrist"][2], up["left_wrist"][1] - up["thorax"][1]
            above = up["left_wrist"][2] - up["right_wrist"][2]  # the right arm is at the TED mean pose
            lr = f"left wrist up {rise:+.3f} m, out {out:+.3f} m, above the right wrist by {above:+.3f} m"
            assert rise > 0.3 * scale and out > 0.5 * scale and above > 0.3 * scale, (name, lr)
        report.append(f"{w.name:38s} {samples:8d} {pos:4d} {vel:4d} {w.worst_speed:5.2f}x {rms:.4f} rad (lag {lag:.2f} s)  {lr}")
        assert pos == 0 and vel == 0, report[-1]
        assert rms < TRACKING_RMS, report[-1]
    print("\nrobot                               samples  pos  vel  speed/limit  tracking RMS  left/right\n" + "\n".join(report))
