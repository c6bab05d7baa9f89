"""The nodes of the gesture stack. Each node is one file with a ``main()`` console script."""

from setuptools import setup

package_name = "gesture_ros"

NODES = {
    "speech_source": "speech_source_node",
    "asr": "asr_node",
    "audio_features": "audio_features_node",
    "gesture_generator": "generator_node",
    "retarget": "retarget_node",
    "mujoco_sim": "sim_node",
    "recorder": "recorder_node",
    "robot_description": "description_node",
    "trajectory_watchdog": "watchdog_node",
    "stream_wav": "stream_wav",  # an example client, not a node of the graph: streams a speech file in
}

setup(
    name=package_name,
    version="0.1.0",
    packages=[package_name],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
    ],
    install_requires=["setuptools", "gesture-core"],
    zip_safe=True,
    description="ROS 2 nodes of the co-speech gesture stack.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [f"{exe} = {package_name}.{module}:main" for exe, module in NODES.items()],
    },
)
