"""The launch file and ``gesture-bringup`` describe the same graph: nodes, executables, parameters."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import itertools
from pathlib import Path

import pytest
from gesture_bringup import cli, graph
from locations import ROOT

from gesture_core.bundled import bundled_file

LAUNCH_FILE = ROOT / "launch" / "robot.launch.py"

ARG_COMBINATIONS = [
    dict(zip(["input", "backend", "robot", "sim", "record"], combo))
    for combo in itertools.product(["tts", "file", "mic"], ["procedural", "trimodal"], ["humanoid", "humanoid_7dof"],
                                   ["true", "false"], ["", "/tmp/rec"])
]  # fmt: skip


def _parse_ros_args(cmd: list[str]) -> tuple[str, dict[str, str], list[str]]:
    """(module, -p parameters, params files) of a node command line."""
    module = cmd[cmd.index("-m") + 1]
    params, files = {}, []
    for flag, value in zip(cmd, cmd[1:]):
        if flag == "-p":
            k, v = value.split(":=", 1)
            params[k] = v
        elif flag == "--params-file":
            files.append(value)
    return module, params, files


def test_every_executable_is_the_console_script_of_its_module():
    scripts = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="console_scripts")}
    for args in ARG_COMBINATIONS:
        for spec in graph.build_graph(graph.with_defaults(args)):
            assert scripts.get(spec.executable) == f"{spec.module}:main", spec
            assert importlib.util.find_spec(spec.module) is not None, spec.module


@pytest.mark.parametrize("args", ARG_COMBINATIONS[::5])
def test_cli_commands_carry_the_graph_parameters(args, tmp_path):
    full = graph.with_defaults(args)
    params_file = tmp_path / "p.yaml"
    for spec in graph.build_graph(full):
        module, params, files = _parse_ros_args(cli.node_command(spec, full, params_file))
        assert module == spec.module
        assert files == [str(params_file)]
        expected = {k: cli._ros_value(v) for k, v in graph.arg_param_values(spec, full, bundled_file).items()}
        assert params == expected


def test_graph_reacts_to_arguments():
    names = lambda **kw: [n.name for n in graph.build_graph(graph.with_defaults(kw))]  # noqa: E731
    assert "mujoco_sim" in names(sim="true") and "mujoco_sim" not in names(sim="false")
    assert "recorder" in names(record="/x") and "recorder" not in names()
    with pytest.raises(ValueError, match="backend"):
        graph.with_defaults({"backend": "nope"})
    with pytest.raises(ValueError, match="unknown"):
        graph.with_defaults({"bogus": "1"})


def test_arguments_resolve_to_files_that_exist():
    for robot in ("humanoid", "humanoid_7dof"):
        full = graph.with_defaults({"robot": robot})
        for spec in graph.build_graph(full):
            for value in graph.arg_param_values(spec, full, bundled_file).values():
                if isinstance(value, str) and value.endswith((".yaml", ".urdf")):
                    assert Path(value).is_file(), value
    assert bundled_file("config", "gesture.yaml", "gesture_bringup").is_file()


def test_launch_file_builds_its_nodes_from_the_graph():
    """Static check (launch_ros is not installable on pip-only machines): the launch file declares
    exactly graph.ARGUMENTS and makes one launch_ros Node per graph.build_graph() entry with the
    parameter file plus graph.arg_param_values(), as the CLI does."""
    tree = ast.parse(LAUNCH_FILE.read_text())
    calls = {ast.unparse(n.func): n for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert "graph.build_graph" in calls and "graph.with_defaults" in calls
    node = calls["Node"]
    kw = {k.arg: ast.unparse(k.value) for k in node.keywords}
    assert kw["package"] == "graph.NODE_PACKAGE"
    assert kw["executable"] == "spec.executable" and kw["name"] == "spec.name"
    assert kw["parameters"] == "[params_file, graph.arg_param_values(spec, args, _share_file)]"
    declare = calls["DeclareLaunchArgument"]
    assert {k.arg for k in declare.keywords} >= {"default_value", "description", "choices"}
    assert "graph.ARGUMENTS" in ast.unparse(tree)


@pytest.mark.skipif(importlib.util.find_spec("launch_ros") is None, reason="launch_ros is not installed (pip-only ROS)")
def test_launch_file_runs_for_real(tmp_path):
    from launch.launch_description_sources import get_launch_description_from_python_launch_file

    from launch import LaunchContext

    ld = get_launch_description_from_python_launch_file(str(LAUNCH_FILE))
    context = LaunchContext()
    nodes = []
    for entity in ld.entities:
        nodes += entity.visit(context) or []
    launched = sorted((n.node_executable, n.node_name.split("/")[-1]) for n in nodes if hasattr(n, "node_executable"))
    expected = sorted((s.executable, s.name) for s in graph.build_graph(graph.with_defaults({})))
    assert launched == expected


def test_robot_argument_is_a_bundled_name_or_a_config_path_and_a_default_sets_nothing(tmp_path, monkeypatch):
    def robot_params(**args) -> dict[str, dict]:
        full = graph.with_defaults(args)
        return {s.name: graph.arg_param_values(s, full, bundled_file) for s in graph.build_graph(full) if s.name in ("retarget", "mujoco_sim")}

    # no --robot: nothing set, so a params file's config_file stays (and else the nodes' own default)
    assert all("config_file" not in p for p in robot_params().values())
    # a bundled name: its config, for every node that needs the robot (each reads the URDF from it)
    nao = str(ROOT / "config" / "retarget_nao.yaml")
    assert robot_params(robot="nao") == {"retarget": {"config_file": nao}, "mujoco_sim": {"config_file": nao, "render": True, "viewer": False}}
    # a path (relative to where bringup runs) becomes absolute
    monkeypatch.chdir(tmp_path)
    assert robot_params(robot="robots/g1.yaml")["retarget"]["config_file"] == str(tmp_path / "robots" / "g1.yaml")
    with pytest.raises(Exception, match="config/retarget_octopus.yaml"):
        robot_params(robot="octopus")


def test_bringup_refuses_a_bad_robot_config_before_starting_any_node(tmp_path, caplog):
    import yaml

    data = yaml.safe_load((ROOT / "config" / "retarget_humanoid.yaml").read_text())
    data["urdf"] = str(ROOT / "urdf" / "gesture_humanoid.urdf")
    data["markers"]["left_elbow"] = {"link": "l_elbo"}
    bad = tmp_path / "my_robot.yaml"
    bad.write_text(yaml.safe_dump(data))
    assert cli.main(["--robot", str(bad), "--output", str(tmp_path / "out")]) == 2
    assert f"{bad}: markers.left_elbow.link: unknown link 'l_elbo'" in caplog.text
    assert not (tmp_path / "out" / "logs").exists()  # no node was started
