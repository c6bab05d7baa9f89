"""The interface package ros2_ws/src/gesture_msgs is built and importable by this interpreter
(``make setup`` builds it and installs it into .venv), every interface it defines included."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from locations import ROOT

pytest.importorskip("rclpy")

PKG = ROOT / "ros2_ws" / "src" / "gesture_msgs"
INTERFACES = sorted((kind, f.stem) for kind in ("msg", "action") for f in (PKG / kind).glob(f"*.{kind}"))


def test_cmake_lists_every_interface_file():
    listed = (PKG / "CMakeLists.txt").read_text()
    for kind, name in INTERFACES:
        assert f'"{kind}/{name}.{kind}"' in listed, (
            f"{kind}/{name}.{kind} is not in rosidl_generate_interfaces"
        )


@pytest.mark.parametrize(("kind", "name"), INTERFACES)
def test_every_interface_imports_and_round_trips(kind, name):
    from rclpy.serialization import deserialize_message, serialize_message

    cls = getattr(importlib.import_module(f"gesture_msgs.{kind}"), name)
    types = [cls] if kind == "msg" else [cls.Goal, cls.Result, cls.Feedback]
    for t in types:
        assert deserialize_message(serialize_message(t()), t) == t()


def test_installed_definitions_match_the_sources():
    """The recorder reads message definitions from <prefix>/share: the installed ones are current."""
    import sys

    for kind, name in INTERFACES:
        installed = Path(sys.prefix) / "share" / "gesture_msgs" / kind / f"{name}.{kind}"
        assert installed.read_text() == (PKG / kind / f"{name}.{kind}").read_text(), (
            f"re-run make setup: {installed}"
        )
