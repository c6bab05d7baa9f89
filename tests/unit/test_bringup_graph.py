"""The launch file and ``gesture-bringup`` describe the same graph: nodes, executables, parameters."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import itertools
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from gesture_bringup import cli, graph
from locations import ROOT

from gesture_core.bundled import bundled_file

LAUNCH_FILE = ROOT / "launch" / "robot.launch.py"

ARG_COMBINATIONS = [
    dict(zip(["input", "backend", "robot", "sim", "record"], combo))
    for combo in itertools.product(["tts", "file", "mic"], ["procedural", "trimodal"], ["humanoid", "humanoid_7dof"],
                                   ["mujoco", "none"], ["", "/tmp/rec"])
]  # fmt: skip


def PIP_ONLY(_package: str) -> bool:
    """A pip-only machine (this one): no ROS package but the project's."""
    return False


def FULL_ROS(_package: str) -> bool:
    """A full ROS 2 install with Gazebo and ros2_control: every package."""
    return True



def _ros_args(cmd: list[str]) -> tuple[list[str], dict[str, object], list[tuple[str, str]]]:
    """(arguments before --ros-args, parameters from every --params-file in order, remappings) of a
    node command line, the parameter files read as rcl reads them (``/**`` or ``<node>``: ``ros__parameters``)."""
    i = cmd.index("--ros-args")
    name = dict(a.split(":=") for f, a in zip(cmd[i:], cmd[i + 1 :]) if f == "-r")["__node"]
    params: dict[str, object] = {}
    remaps = []
    for flag, value in zip(cmd[i:], cmd[i + 1 :]):
        if flag == "--params-file":
            data = yaml.safe_load(Path(value).read_text()) or {}
            for key in ("/**", name):  # rcl applies the wildcard's and the node's own entries
                params |= data.get(key, {}).get("ros__parameters", {})
        elif flag == "-r" and not value.startswith("__node:="):
            remaps.append(tuple(value.split(":=", 1)))
    return cmd[:i], params, remaps


def test_every_executable_is_the_console_script_of_its_module():
    scripts = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="console_scripts")}
    for args in ARG_COMBINATIONS:
        for spec in graph.build_graph(graph.with_defaults(args), PIP_ONLY):
            assert spec.package == graph.NODE_PACKAGE, spec
            assert scripts.get(spec.executable) == f"{spec.module}:main", spec
            assert importlib.util.find_spec(spec.module) is not None, spec.module


@pytest.mark.parametrize("args", ARG_COMBINATIONS[::5])
def test_cli_commands_carry_the_graph_parameters(args, tmp_path):
    """gesture-bringup gives each node what the launch file gives it (graph.plan): the parameter
    file, then the values the arguments set, and the remappings, in launch_ros' command-line form."""
    full = graph.with_defaults(args)
    for process in graph.plan(full, PIP_ONLY):
        cmd = cli.node_command(process, tmp_path)
        assert cmd[:4] == [sys.executable, "-u", "-m", process.spec.module]
        _, params, remaps = _ros_args(cmd)
        expected = yaml.safe_load(graph.params_file(full).read_text()).get(process.spec.name, {}).get("ros__parameters", {})
        expected |= graph.arg_param_values(process.spec, full)
        assert params == expected
        assert remaps == list(process.spec.remappings)


def test_graph_reacts_to_arguments():
    names = lambda installed=PIP_ONLY, **kw: [n.name for n in graph.build_graph(graph.with_defaults(kw), installed)]  # noqa: E731
    assert "mujoco_sim" in names() and "mujoco_sim" in names(sim="mujoco")
    assert "mujoco_sim" not in names(sim="none") and "mujoco_sim" not in names(sim="gazebo", installed=FULL_ROS)
    assert "recorder" in names(record="/x") and "recorder" not in names()
    # robot_description: robot_state_publisher where installed, else the project's node; never both
    assert "robot_description" in names() and "robot_state_publisher" not in names()
    assert "robot_state_publisher" in names(installed=FULL_ROS) and "robot_description" not in names(installed=FULL_ROS)
    # a real robot: its ros2_control_node where controller_manager is installed
    assert {"controller_manager", "controller_spawner"} <= set(names(sim="none", installed=FULL_ROS))
    assert not {"controller_manager", "controller_spawner"} & set(names(sim="none"))
    with pytest.raises(ValueError, match="backend"):
        graph.with_defaults({"backend": "nope"})
    with pytest.raises(ValueError, match="sim"):
        graph.with_defaults({"sim": "false"})
    with pytest.raises(ValueError, match="unknown"):
        graph.with_defaults({"bogus": "1"})


def test_arguments_resolve_to_files_that_exist():
    for robot in ("humanoid", "humanoid_7dof"):
        full = graph.with_defaults({"robot": robot})
        for spec in graph.build_graph(full):
            for value in graph.arg_param_values(spec, full).values():
                if isinstance(value, str) and value.endswith((".yaml", ".urdf")):
                    assert Path(value).is_file(), value
    assert bundled_file("config", "gesture.yaml", "gesture_bringup").is_file()


def test_launch_file_builds_its_nodes_from_the_graph():
    """Static check (launch_ros is not installable on pip-only machines): the launch file declares
    exactly graph.ARGUMENTS and makes one launch_ros Node per graph.plan() entry with its
    package, executable, name, arguments, parameters and remappings, as gesture-bringup does."""
    tree = ast.parse(LAUNCH_FILE.read_text())
    calls = {ast.unparse(n.func): n for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert "graph.plan" in calls and "graph.with_defaults" in calls
    node = calls["Node"]
    kw = {k.arg: ast.unparse(k.value) for k in node.keywords}
    assert kw["package"] == "process.spec.package" and kw["executable"] == "process.spec.executable"
    assert kw["name"] == "process.spec.name" and kw["arguments"] == "list(process.spec.arguments)"
    assert kw["parameters"] == "[p if isinstance(p, dict) else str(p) for p in process.parameters]"
    assert kw["remappings"] == "list(process.spec.remappings)"
    declare = calls["DeclareLaunchArgument"]
    assert {k.arg for k in declare.keywords} >= {"default_value", "description", "choices"}
    assert "graph.ARGUMENTS" in ast.unparse(tree)


@pytest.mark.skipif(importlib.util.find_spec("launch_ros") is None, reason="launch_ros is not installed (pip-only ROS)")
@pytest.mark.parametrize("sim", graph.SIM_MODES)
def test_launch_file_runs_for_real(sim):
    from launch.launch_description_sources import get_launch_description_from_python_launch_file

    from launch import LaunchContext

    ld = get_launch_description_from_python_launch_file(str(LAUNCH_FILE))
    context = LaunchContext()
    context.launch_configurations["sim"] = sim
    nodes = []
    for entity in ld.entities:
        nodes += entity.visit(context) or []
    nodes = [n for n in nodes if hasattr(n, "node_executable")]
    for node in nodes:  # what Node.execute does first (names, parameter files, remappings); starts nothing
        node._perform_substitutions(context)
    launched = {n.node_name.split("/")[-1]: n for n in nodes}
    plan = {p.spec.name: p for p in graph.plan(graph.with_defaults({"sim": sim}))}
    assert sorted(launched) == sorted(plan)
    for name, node in launched.items():
        spec = plan[name].spec
        assert (node.node_package, node.node_executable) == (spec.package, spec.executable)
        assert [tuple(r) for r in node.expanded_remapping_rules or []] == list(spec.remappings)


def test_robot_argument_is_a_bundled_name_or_a_config_path_and_a_default_sets_nothing(tmp_path, monkeypatch):
    def robot_params(**args) -> dict[str, dict]:
        full = graph.with_defaults(args)
        return {s.name: graph.arg_param_values(s, full) for s in graph.build_graph(full) if s.name in ("retarget", "mujoco_sim")}

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


def _process(processes: list[graph.Process], name: str) -> graph.Process:
    return next(p for p in processes if p.spec.name == name)


def _values(process: graph.Process) -> dict:
    return {k: v for params in process.parameters if isinstance(params, dict) for k, v in params.items()}


@pytest.mark.parametrize("robot", ["humanoid", "humanoid_7dof"])
def test_gazebo_launch_description(robot, tmp_path):
    """sim:=gazebo, as the launch file gets it from graph.plan on a full install (static here):
    Gazebo with the project's world, the robot spawned from robot_description with its
    ros2_control block over exactly the retargeted joints and the shipped controllers YAML, the
    clock bridged, the controllers spawned, every node on sim time, the trajectories remapped to
    the controller, no MuJoCo and no second robot_description publisher."""
    from gesture_core import contracts as c
    from gesture_core import ros2_control as rc
    from gesture_core.retarget.config import load_config

    full = graph.with_defaults({"sim": "gazebo", "robot": robot})
    processes = graph.plan(full, FULL_ROS)
    assert graph.missing_packages(full, FULL_ROS) == [] and graph.missing_packages(full, PIP_ONLY)
    nodes = {(p.spec.package, p.spec.executable, p.spec.name) for p in processes}
    own = {"speech_source", "asr", "audio_features", "gesture_generator", "retarget", "trajectory_watchdog"}
    assert nodes == {(graph.NODE_PACKAGE, n, n) for n in own} | {
        ("robot_state_publisher", "robot_state_publisher", "robot_state_publisher"),
        ("ros_gz_sim", "gzserver", "gazebo"),
        ("ros_gz_bridge", "parameter_bridge", "clock_bridge"),
        ("ros_gz_sim", "create", "spawn_robot"),
        ("controller_manager", "spawner", "controller_spawner"),
    }
    for p in processes:  # sim time everywhere a clock matters; the one-shot tools keep the wall clock
        assert _values(p).get("use_sim_time", False) is (p.spec.name not in {"clock_bridge", "spawn_robot", "controller_spawner"}), p.spec.name
        assert (graph.params_file(full) in p.parameters) is (p.spec.package == graph.NODE_PACKAGE)
    for name in ("retarget", "trajectory_watchdog"):  # the watchdog watches and rests the controller
        assert _process(processes, name).spec.remappings == ((c.JOINT_TRAJECTORY.name, rc.TRAJECTORY_TOPIC),)
    assert graph.trajectory_topic(full) == "/joint_trajectory_controller/joint_trajectory"
    # Gazebo, the world, the spawn and the clock
    world = Path(_values(_process(processes, "gazebo"))["world_sdf_file"])
    assert world.is_file() and ET.parse(world).getroot().find("world").get("name") == rc.WORLD_NAME
    spawn = _process(processes, "spawn_robot").spec.arguments
    assert spawn == ("-world", rc.WORLD_NAME, "-topic", "robot_description", "-name", robot)
    assert _process(processes, "clock_bridge").spec.arguments == ("/clock@rosgraph_msgs/msg/Clock[gz.msgs.Clock",)
    spawner = _process(processes, "controller_spawner").spec
    assert spawner.arguments[:2] == ("joint_state_broadcaster", "joint_trajectory_controller") and spawner.transient
    assert spawner.arguments[2:4] == ("-c", "/controller_manager")
    # robot_description: the URDF with a ros2_control block over the config's joints, loading the shipped YAML
    urdf = ET.fromstring(_values(_process(processes, "robot_state_publisher"))["robot_description"])
    cfg = load_config(ROOT / "config" / f"retarget_{robot}.yaml")
    block = urdf.find("ros2_control")
    assert block.find("hardware/plugin").text == "gz_ros2_control/GazeboSimSystem"
    assert [j.get("name") for j in block.findall("joint")] == list(cfg.joint_names)
    controllers = Path(urdf.find("gazebo/plugin/parameters").text)
    assert controllers == ROOT / "config" / f"controllers_{robot}.yaml"
    jtc = yaml.safe_load(controllers.read_text())["joint_trajectory_controller"]["ros__parameters"]
    assert jtc["joints"] == list(cfg.joint_names)
    # the same, as command lines (what gesture-bringup runs and launch_ros would)
    for process in processes:
        arguments, params, remaps = _ros_args(graph.ros_arguments(process, tmp_path))
        assert arguments == list(process.spec.arguments) and remaps == list(process.spec.remappings)
        assert params == {**(yaml.safe_load(graph.params_file(full).read_text()).get(process.spec.name, {})
                             .get("ros__parameters", {}) if process.spec.params_file else {}), **_values(process)}


def test_real_robot_launch_description_runs_its_ros2_control_with_the_controllers_yaml():
    from gesture_core import ros2_control as rc

    full = graph.with_defaults({"sim": "none", "robot": "humanoid_7dof"})
    processes = graph.plan(full, FULL_ROS)
    manager = _process(processes, "controller_manager")
    assert (manager.spec.package, manager.spec.executable) == ("controller_manager", "ros2_control_node")
    assert manager.parameters == (ROOT / "config" / "controllers_humanoid_7dof.yaml",)
    assert _process(processes, "retarget").spec.remappings == (("joint_trajectory", rc.TRAJECTORY_TOPIC),)
    rsp = _values(_process(processes, "robot_state_publisher"))
    assert rsp == {"robot_description": (ROOT / "urdf" / "gesture_humanoid_7dof.urdf").read_text()}  # as it is, wall clock
    assert not any("use_sim_time" in _values(p) for p in processes)


def test_a_robot_given_by_its_config_alone_gets_generated_controllers(tmp_path, monkeypatch):
    """A config path with no controllers_<robot>.yaml beside it: the launch generates the YAML
    (into the user's cache) and the Gazebo URDF loads that."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data = yaml.safe_load((ROOT / "config" / "retarget_humanoid.yaml").read_text())
    config = tmp_path / "robots" / "retarget_mybot.yaml"
    config.parent.mkdir()
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    full = graph.with_defaults({"sim": "gazebo", "robot": str(config)})
    urdf = ET.fromstring(_values(_process(graph.plan(full, FULL_ROS), "robot_state_publisher"))["robot_description"])
    generated = Path(urdf.find("gazebo/plugin/parameters").text)
    assert generated == tmp_path / "cache" / "gesture_stack" / "ros2_control" / "controllers_mybot.yaml"
    assert yaml.safe_load(generated.read_text()) == yaml.safe_load((ROOT / "config" / "controllers_humanoid.yaml").read_text())
    assert "# retarget_mybot.yaml and" in generated.read_text()


def test_bringup_refuses_gazebo_without_gazebo(tmp_path, caplog):
    assert cli.main(["--sim", "gazebo", "--output", str(tmp_path / "out")]) == 2
    assert "--sim gazebo needs Gazebo Harmonic and ros2_control" in caplog.text and "ros_gz_sim" in caplog.text
    assert "docker/README.md" in caplog.text and not (tmp_path / "out" / "logs").exists()


def test_dry_run_prints_the_commands_and_starts_nothing(tmp_path, capsys):
    assert cli.main(["--dry-run", "--output", str(tmp_path / "out")]) == 0
    lines = capsys.readouterr().out.splitlines()
    full = graph.with_defaults({"record": str(tmp_path / "out")})
    assert [line.split(" -m ")[1].split()[0] for line in lines] == [s.module for s in graph.build_graph(full)]
    assert not (tmp_path / "out" / "logs").exists()


def test_package_xml_declares_every_ros_package_the_graph_runs():
    """rosdep installs what gesture_bringup's package.xml declares: every package whose executables
    a sim mode starts, and every package a mode checks for, is an exec_depend."""
    root = ET.parse(ROOT / "ros2_ws" / "src" / "gesture_bringup" / "package.xml").getroot()
    declared = {e.text for e in root.findall("exec_depend")}
    used = {p for packages in graph.SIM_PACKAGES.values() for p in packages}
    for sim in graph.SIM_MODES:
        full = graph.with_defaults({"sim": sim})
        used |= {s.package for s in graph.build_graph(full, FULL_ROS)}
    assert used <= declared, f"not in package.xml: {sorted(used - declared)}"
    assert {"robot_state_publisher", "ros_gz_sim", "controller_manager", "joint_state_broadcaster"} <= used
