"""Bringup: installs launch files, parameter files and the Gazebo world (top-level ``launch/``,
``config/`` and ``worlds/``, linked here) into the package share, and the ``gesture-bringup``
command for pip-only machines."""

from glob import glob

from setuptools import setup

package_name = "gesture_bringup"

setup(
    name=package_name,
    version="0.1.0",
    packages=[package_name],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
        (f"share/{package_name}/launch", glob("launch/*.launch.py")),
        (f"share/{package_name}/config", glob("config/*.yaml")),
        (f"share/{package_name}/worlds", glob("worlds/*.sdf")),
    ],
    install_requires=["setuptools", "gesture-core"],
    zip_safe=True,
    description="Launch and parameter files of the co-speech gesture stack.",
    license="Apache-2.0",
    entry_points={"console_scripts": ["gesture-bringup = gesture_bringup.cli:main"]},
)
