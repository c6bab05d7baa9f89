"""Files the project bundles: URDFs under ``urdf/``, YAML under ``config/``.

They are found in the source tree first (the editable checkout everyone develops in), then in the
ament share directory of the package that installs them (a colcon/installed layout):
``urdf/`` by ``gesture_description``, ``config/`` and ``launch/`` by ``gesture_bringup``.
"""

from __future__ import annotations

from pathlib import Path

from .errors import GestureError

#: The bundled robots, by the one name everything uses (the launch argument ``robot``, test ids):
#: each has ``urdf/<file>`` and the retargeting config ``config/retarget_<name>.yaml``.
ROBOTS = {"humanoid": "gesture_humanoid.urdf", "humanoid_7dof": "gesture_humanoid_7dof.urdf"}
#: The robot used when none is named.
DEFAULT_ROBOT = "humanoid"

#: The repository root of an editable checkout (``src/gesture_core/`` is two levels below it).
SOURCE_TREE = Path(__file__).resolve().parents[2]


def bundled_file(folder: str, name: str, package: str, error: type[GestureError] = GestureError) -> Path:
    """``<source tree>/<folder>/<name>`` if it exists, else ``<share of package>/<folder>/<name>``.

    Raises ``error`` (a :class:`GestureError` subclass) naming the places looked at.
    """
    source = SOURCE_TREE / folder / name
    if source.is_file():
        return source
    try:
        from ament_index_python.packages import get_package_share_directory

        installed = Path(get_package_share_directory(package)) / folder / name
    except (ImportError, LookupError, OSError) as exc:  # no ament index, or no package in it
        raise error(f"bundled {folder}/{name} is not at {source} and {package} is not installed: {exc}") from None
    if not installed.is_file():
        raise error(f"bundled {folder}/{name} is neither at {source} nor at {installed}")
    return installed
