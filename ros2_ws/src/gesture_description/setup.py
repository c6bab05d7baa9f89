"""Installs the robot descriptions (top-level ``urdf/``, linked here) into the package share."""

from glob import glob

from setuptools import setup

package_name = "gesture_description"

setup(
    name=package_name,
    version="0.1.0",
    packages=[package_name],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
        (f"share/{package_name}/urdf", glob("urdf/*.urdf")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    description="URDF descriptions of the gesturing humanoid.",
    license="Apache-2.0",
)
