"""Starts the graph's nodes as child processes and keeps them in line.

Why separate processes rather than one composed process: the nodes are heavy and independent
(espeak-ng, Vosk, librosa, a neural network, MuJoCo) and Python threads share one interpreter lock,
so separate processes use both cores of a small onboard computer and keep each node's native
libraries apart; it is also exactly what ``ros2 launch`` does with the same graph. The price is
start-up time (each process imports its libraries), paid once.

Rules: every child runs in its own process group with this Python (the rclpy wheels need it); its
output is prefixed with its name on the terminal and kept in ``<log_dir>/<name>.log``. If a node
exits while the graph is running, that is logged with its exit code and the last lines of its log,
and the node is restarted after a back-off (``backoff_s``, doubled at each restart of that node),
at most ``max_restarts`` times per node (the log says each restart); the robot stays safe
meanwhile (the retargeter rests it when an upstream node dies, the sim's watchdog when the
retargeter does). A node that exits more often than that shuts the whole graph down.
Shutdown sends SIGINT to every group but the ``last`` ones (the simulator and the recorder), waits,
gives the simulator ``settle_s`` to bring the robot to rest (its watchdog sees the retargeter leave;
the recorder records it), then stops the ``last`` ones; what is left after ``timeout`` is SIGKILLed
and every child reaped, so no process or zombie stays behind.
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

from gesture_core.errors import ConfigError

log = logging.getLogger("gesture_bringup")


@dataclass
class Child:
    name: str
    cmd: list[str]
    proc: subprocess.Popen
    log_file: Path
    tail: deque = field(default_factory=lambda: deque(maxlen=20))
    transient: bool = False  # does its job and exits (status 0 is no failure)
    env: dict[str, str] | None = None
    restarts: int = 0
    restart_at: float | None = None  # monotonic time of the pending restart


class Supervisor:
    """Owns the node processes of one graph."""

    def __init__(
        self,
        log_dir: Path,
        echo: bool = True,
        max_restarts: int = 3,
        backoff_s: float = 1.0,
        last: tuple[str, ...] = ("mujoco_sim", "recorder"),
        settle_s: float = 2.0,
    ):
        if max_restarts < 0 or backoff_s < 0 or settle_s < 0:
            raise ConfigError(f"max_restarts {max_restarts}, backoff_s {backoff_s}, settle_s {settle_s}: each must be >= 0")
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.echo = echo
        self.max_restarts, self.backoff_s = max_restarts, backoff_s
        self.last, self.settle_s = last, settle_s
        self.children: list[Child] = []
        self.stopping = False

    def start(self, name: str, cmd: list[str], env: dict[str, str] | None = None, transient: bool = False) -> Child:
        """Start node ``name``; a ``transient`` child does its job and exits (status 0 is no failure)."""
        child = Child(name, cmd, self._spawn(name, cmd, env), self.log_dir / f"{name}.log", transient=transient, env=env)
        self.children.append(child)
        threading.Thread(target=self._pump, args=(child, child.proc, "w"), daemon=True).start()
        return child

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str] | None) -> subprocess.Popen:
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
        log.debug("started %s (pid %d): %s", name, proc.pid, " ".join(cmd))
        return proc

    def _pump(self, child: Child, proc: subprocess.Popen, mode: str) -> None:
        with open(child.log_file, mode) as f:
            for line in proc.stdout:
                f.write(line)
                f.flush()
                child.tail.append(line.rstrip())
                if self.echo:
                    sys.stderr.write(f"[{child.name}] {line}")

    def failed(self) -> Child | None:
        """The first child that exited while the graph was meant to run and may not be restarted
        again, if any. Call it regularly: it also restarts the others (logged), after their back-off."""
        if self.stopping:
            return None
        now = time.monotonic()
        for ch in self.children:
            if ch.proc.poll() is None or (ch.transient and ch.proc.returncode == 0):
                continue
            if ch.restart_at is None:
                if ch.restarts >= self.max_restarts:
                    return ch
                delay = self.backoff_s * 2**ch.restarts
                ch.restart_at = now + delay
                tail = "\n    ".join(ch.tail) or "(no output)"
                log.error(
                    "node %s exited with code %s; restarting it in %.1f s (restart %d of at most %d). "
                    "Last lines of %s:\n    %s",
                    ch.name, ch.proc.returncode, delay, ch.restarts + 1, self.max_restarts, ch.log_file, tail,
                )  # fmt: skip
            elif now >= ch.restart_at:
                ch.restarts += 1
                ch.restart_at = None
                ch.proc = self._spawn(ch.name, ch.cmd, ch.env)
                threading.Thread(target=self._pump, args=(ch, ch.proc, "a"), daemon=True).start()
                log.warning("restarted node %s (pid %d)", ch.name, ch.proc.pid)
        return None

    def report_failure(self, child: Child) -> None:
        tail = "\n    ".join(child.tail) or "(no output)"
        log.error(
            "node %s exited with code %s after %d restarts; shutting the graph down. Last lines of %s:\n    %s",
            child.name, child.proc.returncode, child.restarts, child.log_file, tail,
        )  # fmt: skip

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every child: SIGINT all but the ``last`` ones and wait for them, give the ``last``
        ones ``settle_s`` (the simulator rests the robot), SIGINT them; SIGKILL what is left
        ``timeout`` s after each SIGINT; reap all."""
        self.stopping = True
        first = [ch for ch in self.children if ch.name not in self.last]
        last = [ch for ch in self.children if ch.name in self.last]
        self._interrupt(first, timeout)
        if first and any(ch.proc.poll() is None for ch in last):
            time.sleep(self.settle_s)
        self._interrupt(last, timeout)
        for ch in self.children:  # children of children that outlived their parent
            _signal_group(ch.proc, signal.SIGKILL)

    def _interrupt(self, children: list[Child], timeout: float) -> None:
        for ch in children:
            _signal_group(ch.proc, signal.SIGINT)
        deadline = time.monotonic() + timeout
        for ch in children:
            try:
                ch.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("node %s did not stop within %.0f s after SIGINT; killing it", ch.name, timeout)
                _signal_group(ch.proc, signal.SIGKILL)
                ch.proc.wait()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
