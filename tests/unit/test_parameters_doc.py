"""One definition per setting: config/gesture.yaml, the README's parameter table and the launch
arguments are derived from gesture_core.node_settings (and the backends' plug-ins), and stay so."""

from __future__ import annotations

import ast

import yaml
from gesture_bringup import graph, parameters
from locations import ROOT

from gesture_core import node_settings as ns
from gesture_core.bundled import ROBOTS
from gesture_core.models.registry import backends
from gesture_core.settings import specs

FIX = "run `.venv/bin/python -m gesture_bringup.parameters --write` and commit the result"


def test_the_parameter_file_is_the_generated_one():
    assert (ROOT / "config" / "gesture.yaml").read_text() == parameters.yaml_text(), FIX


def test_the_readme_parameter_table_is_the_generated_one():
    text = (ROOT / "README.md").read_text()
    assert parameters.replace_readme_table(text) == text, FIX


def test_every_value_of_the_parameter_file_is_valid_for_its_node():
    """The file's values build each node's settings (types, ranges, choices, cross-field rules)."""
    doc = yaml.safe_load((ROOT / "config" / "gesture.yaml").read_text())
    for cls in ns.NODES:
        values = doc[cls.node]["ros__parameters"]
        mine = {item.name: values[item.name] for item in specs(cls) if item.name in values}
        cls(**mine)
    generator = doc[ns.GeneratorSettings.node]["ros__parameters"]
    for name, backend in backends().items():
        backend.settings(**generator.get(name, {}))


def test_launch_arguments_come_from_the_settings_and_the_robot_list():
    args = {a.name: a for a in graph.ARGUMENTS}
    mode = next(i for i in specs(ns.SpeechSourceSettings) if i.name == "mode")
    assert args["input"].choices == mode.spec.choices and args["input"].default == mode.default
    assert set(args["backend"].choices) == set(backends()) and args["backend"].default == ns.DEFAULT_BACKEND
    # robot:=NAME of a bundled robot or robot:=PATH of a config (#13): no choices, the names in its description
    assert args["robot"].choices is None and all(name in args["robot"].description for name in ROBOTS)


def test_the_generator_node_imports_no_concrete_backend():
    source = (ROOT / "ros2_ws/src/gesture_ros/gesture_ros/generator_node.py").read_text()
    modules = [n.module for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom) and n.module]
    modules += [a.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import) for a in n.names]
    models = [m for m in modules if m.startswith("gesture_core.models")]
    assert models == ["gesture_core.models.registry"], models
