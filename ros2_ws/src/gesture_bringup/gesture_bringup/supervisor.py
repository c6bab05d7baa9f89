"""Starts the graph's nodes as child processes and keeps them in line.

Why separate processes rather than one composed process: the nodes are heavy and independent
(espeak-ng, Vosk, librosa, a neural network, MuJoCo) and Python threads share one interpreter lock,
so separate processes use both cores of a small onboard computer and keep each node's native
libraries apart; it is also exactly what ``ros2 launch`` does with the same graph. The price is
start-up time (each process imports its libraries), paid once.

Rules: every child runs in its own process group with this Python (the rclpy wheels need it); its
output is prefixed with its name on the terminal and kept in ``<log_dir>/<name>.log``. If a node
exits while the graph is running, that is logged with its exit code and the last lines of its log,
and the whole graph is shut down (no respawn: a crashing node on a robot wants a person's look).
Shutdown sends SIGINT to every group, waits, then SIGKILLs what is left and reaps every child, so no
process or zombie stays behind.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("gesture_bringup")


@dataclass
class Child:
    name: str
    cmd: list[str]
    proc: subprocess.Popen
    log_file: Path
    tail: deque = field(default_factory=lambda: deque(maxlen=20))
    transient: bool = False  # does its job and exits (status 0 is no failure)


class Supervisor:
    """Owns the node processes of one graph."""

    def __init__(self, log_dir: Path, echo: bool = True):
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.echo = echo
        self.children: list[Child] = []
        self.stopping = False

    def start(self, name: str, cmd: list[str], env: dict[str, str] | None = None, transient: bool = False) -> Child:
        log_file = self.log_dir / f"{name}.log"
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
            text=True,
            errors="replace",
        )
        child = Child(name, cmd, proc, log_file, transient=transient)
        threading.Thread(target=self._pump, args=(child,), daemon=True).start()
        self.children.append(child)
        log.debug("started %s (pid %d): %s", name, proc.pid, " ".join(cmd))
        return child

    def _pump(self, child: Child) -> None:
        with open(child.log_file, "w") as f:
            for line in child.proc.stdout:
                f.write(line)
                f.flush()
                child.tail.append(line.rstrip())
                if self.echo:
                    sys.stderr.write(f"[{child.name}] {line}")

    def failed(self) -> Child | None:
        """The first child that exited while the graph was meant to run, if any."""
        if self.stopping:
            return None
        exited = (ch for ch in self.children if ch.proc.poll() is not None)
        return next((ch for ch in exited if not (ch.transient and ch.proc.returncode == 0)), None)

    def report_failure(self, child: Child) -> None:
        tail = "\n    ".join(child.tail) or "(no output)"
        log.error(
            "node %s exited with code %s; shutting the graph down. Last lines of %s:\n    %s",
            child.name, child.proc.returncode, child.log_file, tail,
        )  # fmt: skip

    def stop(self, timeout: float = 10.0) -> None:
        """SIGINT every child's process group, wait up to ``timeout`` s, then SIGKILL; reap all."""
        self.stopping = True
        for ch in self.children:
            _signal_group(ch.proc, signal.SIGINT)
        deadline = time.monotonic() + timeout
        for ch in self.children:
            try:
                ch.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("node %s did not stop within %.0f s after SIGINT; killing it", ch.name, timeout)
                _signal_group(ch.proc, signal.SIGKILL)
                ch.proc.wait()
        for ch in self.children:  # children of children that outlived their parent
            _signal_group(ch.proc, signal.SIGKILL)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
