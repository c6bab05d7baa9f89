"""SIGINT/SIGTERM before a node's ``main()`` runs (while its modules are imported: rclpy, numba,
onnxruntime, MuJoCo; 1-3 s on a loaded machine).

Imported first (by the package's ``__init__``) in every node process, it makes either signal end
the process at once with status 0: nothing exists yet that needs a clean-up (no context, no DDS
participant, no file). A thread woken through :func:`signal.set_wakeup_fd` ends it also while the
main thread is inside a long native call (loading a shared library), where the Python-level
handler would run only when that call returns. Without it, Python's defaults print a ``KeyboardInterrupt`` traceback
(SIGINT) or end the process with a signal status (SIGTERM). :func:`gesture_ros.ros_io.run_node`
replaces these handlers with its own before it builds anything. Other processes that import the
package (tests, tools) are left alone.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path


def node_process(argv: list[str], script: str) -> bool:
    """Whether this process runs a node of the package: ``python -m gesture_ros.<name>_node``
    (``argv``: the interpreter's own command line) or an installed executable
    (``<prefix>/lib/gesture_ros/<name>``, the ``script`` ``ros2 run``/``ros2 launch`` start)."""
    if "-m" in argv[1:-1]:
        module = argv[argv.index("-m", 1) + 1]
        return module.startswith(f"{__package__}.") and module.endswith("_node")
    path = Path(script)
    return path.parent.name == __package__ and path.parent.parent.name == "lib"


def _exit_at_once(_signum: int, _frame: object) -> None:
    os._exit(0)


def _exit_when_signalled(wakeup: int) -> None:
    os.read(wakeup, 1)  # blocks without the GIL until the C-level handler writes the signal number
    os._exit(0)


def install() -> None:
    """In a node process, end it with status 0 on the first SIGINT or SIGTERM (until ``run_node``
    installs its own handlers and wakeup fd)."""
    if node_process(sys.orig_argv, sys.argv[0]):
        read, write = os.pipe()
        os.set_blocking(write, False)
        signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, _exit_at_once)
        threading.Thread(target=_exit_when_signalled, args=(read,), name="early-stop", daemon=True).start()
