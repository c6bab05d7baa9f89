"""How the tests judge a node's stop (importable from every test folder, like ``locations``):
within :data:`STOP_LIMIT_S` of its signal, status 0, nothing bad in its log."""

from __future__ import annotations

import re
import subprocess
import time

#: The longest time from SIGINT/SIGTERM to the end of a node process (s).
STOP_LIMIT_S = 2.0
#: What a node's log never contains after a clean run and stop (rcl errors, tracebacks, errors).
BAD_LINES = re.compile(r"Traceback|rcl\w*\(\) failed|\[ERROR\]|\[FATAL\]|Exception ignored")


def end_times(
    procs: dict[str, subprocess.Popen],
    sent: dict[str, float],
    limit: float = STOP_LIMIT_S,
    took: dict[str, float | None] | None = None,
    until: float | None = None,
) -> dict[str, float | None]:
    """Name -> seconds from its signal (``sent``: monotonic time) to the end of its process, polled
    every 5 ms; None for a process still running ``limit`` + 1 s after its signal. With ``until``
    (a monotonic time) it polls the processes signalled so far until then, recording those that
    end in ``took`` (updated in place and returned)."""
    took = {} if took is None else took
    while len([n for n in took if n in procs]) < len(procs) and (until is None or time.monotonic() < until):
        now = time.monotonic()
        for name, proc in procs.items():
            if name in took or name not in sent:
                continue
            if proc.poll() is not None:
                took[name] = now - sent[name]
            elif now > sent[name] + limit + 1.0:
                took[name] = None
        time.sleep(0.005)
    return took


def problems(name: str, proc: subprocess.Popen, took: float | None, log: str) -> list[str]:
    """What is wrong with the stop of node ``name`` (empty: a clean stop)."""
    out = []
    if took is None or took > STOP_LIMIT_S:
        out.append(
            f"{name}: still running {STOP_LIMIT_S} s after its signal"
            if took is None
            else f"{name}: took {took:.2f} s"
        )
    if proc.poll() not in (0, None):
        out.append(f"{name}: exit status {proc.returncode}")
    out += [f"{name}: {line}" for line in log.splitlines() if BAD_LINES.search(line)]
    return out
