"""Soak: the whole graph (``gesture-bringup --stay``) saying back-to-back utterances while the sim
runs ``--rtf`` times faster than real time (changed back and forth every ``--rtf-period`` s, as a
user tuning it would), until ``--minutes`` of sim time have passed (or ``--wall-limit`` s).

Prints a table of every process's RSS (MB) over time, the bringup process included (flat?), and
whether every utterance was gestured (at least one ``joint_trajectory`` of its id), and how often
a consumer lost a publisher's liveliness (nothing is killed here: each is a false alarm), a node was
ended as stuck, or a callback came near the stall limit. Not CI.

Run: ``ROS_DOMAIN_ID=<yours> .venv/bin/python benchmarks/soak.py --minutes 30 --rtf 6``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient

from gesture_core import contracts as c
from gesture_ros.ros_io import msg_class

SENTENCES = (
    "Hello there, it is good to see you again today.",
    "Let me show you how this works, step by step.",
    "On the one hand it is small, on the other hand it is fast.",
    "We went up the hill, and then all the way back down.",
)


def processes(marker: str) -> dict[int, str]:
    """pid -> short name of every process whose environment holds ``marker``."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() not in (entry / "environ").read_bytes():
                continue
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv if a]
        module = next((words[i + 1] for i, a in enumerate(words[:-1]) if a == "-m"), words[0] if words else "?")
        found[int(entry.name)] = module.rsplit(".", 1)[-1].replace("_node", "")
    return found


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=30.0, help="sim minutes to run")
    p.add_argument("--rtf", type=float, default=6.0, help="real_time_factor of the sim")
    p.add_argument("--rtf-period", type=float, default=60.0, help="wall s between real_time_factor changes")
    p.add_argument("--sample", type=float, default=30.0, help="wall s between RSS samples")
    p.add_argument("--wall-limit", type=float, default=1800.0, help="stop after this many wall s anyway")
    p.add_argument("--render", default="false", choices=("true", "false"))
    args = p.parse_args()

    marker = f"GESTURE_SOAK={uuid.uuid4().hex}"
    env = os.environ.copy()
    env["GESTURE_SOAK"] = marker.split("=", 1)[1]
    out = Path(tempfile.mkdtemp(prefix="soak-"))
    bringup = subprocess.Popen(
        [sys.executable, "-m", "gesture_bringup.cli", "--stay", "--quiet", "--output", str(out),
         "--render", args.render, "--text", SENTENCES[0]],
        stdout=open(out / "bringup.log", "w"), stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip

    rclpy.init()
    node = rclpy.create_node(f"soak_{os.getpid()}")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    ended: list[str] = []
    gestured: set[str] = set()
    clock = [0, 0]  # sim ns run so far, last /clock

    def on_event(msg: object) -> None:
        ev = c.decode_utterance(msg)
        if ev.event == "end":
            ended.append(ev.utterance_id)

    node.create_subscription(msg_class(c.UTTERANCE), c.UTTERANCE.name, on_event, 50)
    node.create_subscription(
        msg_class(c.JOINT_TRAJECTORY), c.JOINT_TRAJECTORY.name, lambda m: gestured.add(m.header.frame_id), 50
    )
    def on_clock(msg: object) -> None:  # sim time run: the clock jumps back when the rtf drops (re-tied to ROS time)
        t = c.stamp_to_ns(msg.clock)
        if clock[1]:
            clock[0] += max(0, t - clock[1])
        clock[1] = t

    node.create_subscription(msg_class(c.CLOCK), c.CLOCK.name, on_clock, 1)
    say = node.create_publisher(msg_class("std_msgs/msg/String"), "speech/say", 10)
    sim_params = AsyncParameterClient(node, "mujoco_sim")

    began = time.monotonic()
    samples: list[tuple[float, float, dict[str, float]]] = []
    next_sample, next_rtf, rtf, said = began, began + 10.0, 1.0, 1  # the bringup says the first
    try:
        while bringup.poll() is None and time.monotonic() - began < args.wall_limit:
            executor.spin_once(timeout_sec=0.1)
            now = time.monotonic()
            sim_min = clock[0] / c.NS_PER_S / 60
            if sim_min >= args.minutes:
                break
            if len(ended) >= said:  # every utterance asked for has ended: the next one, back to back
                said += 1
                say.publish(msg_class("std_msgs/msg/String")(data=SENTENCES[said % len(SENTENCES)]))
            if now >= next_rtf and sim_params.services_are_ready():
                rtf = args.rtf if rtf == 1.0 else 1.0
                sim_params.set_parameters([Parameter("real_time_factor", value=rtf)])
                next_rtf = now + args.rtf_period
            if now >= next_sample:
                rss = {}
                for pid, name in processes(marker).items():
                    if pid != bringup.pid:
                        rss[name] = rss.get(name, 0.0) + rss_mb(pid)
                rss["bringup"] = rss_mb(bringup.pid)
                samples.append((now - began, sim_min, rss))
                print(f"{now - began:7.0f} s wall, {sim_min:5.1f} sim min, {len(ended)} utterances", flush=True)
                next_sample = now + args.sample
        settle = time.monotonic() + 15.0  # the last utterance's gesture
        while time.monotonic() < settle and any(u not in gestured for u in ended):
            executor.spin_once(timeout_sec=0.1)
    finally:
        os.killpg(bringup.pid, signal.SIGINT)
        try:
            bringup.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(bringup.pid, signal.SIGKILL)
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown()

    names = sorted({n for _, _, r in samples for n in r})
    print("\nRSS (MB) per process over time")
    print("| wall s | sim min | " + " | ".join(names) + " |")
    print("| ---: | ---: | " + " | ".join("---:" for _ in names) + " |")
    for wall, sim_min, rss in samples:
        print(f"| {wall:.0f} | {sim_min:.1f} | " + " | ".join(f"{rss.get(n, float('nan')):.0f}" for n in names) + " |")
    if len(samples) >= 3:
        since, first = samples[len(samples) // 4][0], samples[len(samples) // 4][2]  # after start-up
        growth = {n: samples[-1][2].get(n, float("nan")) - first.get(n, float("nan")) for n in names}
        print(f"\ngrowth from {since:.0f} s wall to the end (MB): " + ", ".join(f"{n} {g:+.0f}" for n, g in growth.items()))
    done = [u for u in ended if u in gestured]
    missed = [u for u in ended if u not in gestured]
    print(f"\nutterances ended: {len(ended)}, gestured: {len(done)}, not gestured: {missed or 'none'}")
    log = (out / "bringup.log").read_text(errors="replace")
    alarms = log.count("stopped responding")  # a consumer lost a publisher's liveliness (a safe stop)
    stalls = log.count("Timeout (")  # faulthandler: a node ended by its stall limit (ros_io.GestureNode)
    slow = log.count("at {:g} s the node is taken for stuck".format(c.STALL_S))  # callbacks over STALL_S / 2
    print(f"liveliness alarms (safe stops and watchdog rests): {alarms}; nodes ended as stuck: {stalls}; "
          f"callbacks over half the stall limit: {slow}")
    print(f"bringup exit code {bringup.returncode}; logs in {out}")
    return 0 if not missed else 1


if __name__ == "__main__":
    raise SystemExit(main())
