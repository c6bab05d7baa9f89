"""``gesture-robot``: bring a new robot in by configuration alone.

- ``gesture-robot init URDF [-o robot.yaml]`` drafts a robot config from the URDF (arm chains,
  skeleton points, rest pose; see :mod:`gesture_core.retarget.draft`) for a person to review;
- ``gesture-robot check CONFIG [-o check.png]`` validates a robot config completely (the URDF, its
  meshes, every key) and draws the robot at rest and in the TED mean pose, front and side, with
  the skeleton points and bones over it (see :mod:`gesture_core.robot_check`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .errors import GestureError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="gesture-robot", description=__doc__.split("\n\n")[0].strip("`: "))
    sub = p.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="draft a robot config from a URDF (for you to review)")
    init.add_argument("urdf", help="the robot's URDF: a path or package://<package>/<path>")
    init.add_argument("-o", "--output", type=Path, default=Path("robot.yaml"), help="config to write (robot.yaml)")
    init.add_argument("--force", action="store_true", help="overwrite an existing output file")
    check = sub.add_parser("check", help="validate a robot config and draw its skeleton points on the robot")
    check.add_argument("config", type=Path, help="the robot config (YAML)")
    check.add_argument("-o", "--output", type=Path, default=None, help="picture to write (default: CONFIG.png)")
    ns = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(message)s")
    logging.getLogger("OpenGL").setLevel(logging.WARNING)  # PyOpenGL's start-up notes are not ours
    os.environ.setdefault("MUJOCO_GL", "egl")  # offscreen rendering; before mujoco's first import
    try:
        if ns.command == "init":
            return _init(ns.urdf, ns.output, ns.force)
        return _check(ns.config, ns.output or ns.config.with_suffix(".png"))
    except GestureError as exc:
        print(f"gesture-robot {ns.command}: {exc}", file=sys.stderr)
        return 1


def _init(urdf: str, out: Path, force: bool) -> int:
    from .retarget.draft import draft_config, write_draft

    if out.exists() and not force:
        print(f"gesture-robot init: {out} exists; pass --force to overwrite it", file=sys.stderr)
        return 1
    data, notes = draft_config(urdf, out)
    write_draft(data, notes, urdf, out)
    print(f"wrote {out}: {len(data['chains'])} chains ({', '.join(data['chains'])})")
    for note in notes:
        print(f"  note: {note}")
    print(f"next: review it, then `gesture-robot check {out}` and look at the picture")
    return 0


def _check(config: Path, png: Path) -> int:
    from .robot_check import check_robot

    report = check_robot(config, png)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
