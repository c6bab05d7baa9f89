"""Finding files: the project's bundled URDFs and YAML, and every file a robot description names.

One function resolves every reference (:func:`resolve`): a robot config's ``urdf``, its mesh
folders, a URDF's ``<mesh filename>``. A reference is

- absolute (``/opt/robots/g1.urdf``, ``file:///opt/robots/g1.urdf``);
- ``package://<package>/<path>``, as in ROS: looked up in the package's share directory
  (:func:`package_dirs` lists where, in order);
- anything else: relative to the referring file's directory (``base``).

The project's own packages (``gesture_description`` installs ``urdf/``, ``gesture_bringup``
installs ``config/`` and ``launch/``) are found in the source tree first (the editable checkout
everyone develops in), then through the ament index (a colcon/installed layout).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from .errors import GestureError

#: The bundled robots, by the one name everything uses (the launch argument ``robot``, test ids):
#: each has its robot config ``config/retarget_<name>.yaml``, which names its URDF.
ROBOTS = ("humanoid", "humanoid_7dof", "nao", "pepper", "icub")
#: The URDFs this project ships (``urdf/``, installed by gesture_description), by robot name; the
#: other bundled robots use their vendors' URDFs, untouched.
URDFS = {"humanoid": "gesture_humanoid.urdf", "humanoid_7dof": "gesture_humanoid_7dof.urdf"}
#: The robot used when none is named.
DEFAULT_ROBOT = "humanoid"

#: The repository root of an editable checkout (``src/gesture_core/`` is two levels below it).
SOURCE_TREE = Path(__file__).resolve().parents[2]
#: The project's ament packages; in a checkout their share directory is the source tree itself.
OWN_PACKAGES = ("gesture_description", "gesture_bringup")
PACKAGE_SCHEME = "package://"


def _ament_share(package: str) -> Path | None:
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory(package))
    except (ImportError, LookupError, OSError, ValueError):  # no ament index, or no package in it
        return None


def package_dirs(package: str, near: Path | None = None) -> list[Path]:
    """The directories ``package://<package>/...`` may mean, in the order they are tried.

    1. the source tree, for the project's own packages (:data:`OWN_PACKAGES`);
    2. the package's share directory in the ament index (a sourced ROS 2 / colcon install);
    3. ``<prefix>/share/<package>`` for this Python's prefix and every ``AMENT_PREFIX_PATH``
       entry (packages that install a share folder without registering, e.g. ``icub-models``);
    4. ``<dir>/<package>`` for every ``ROS_PACKAGE_PATH`` entry;
    5. the folder of an installed Python package of that name (found without importing it,
       e.g. ``qibullet``);
    6. the nearest folder named ``<package>`` above ``near`` (the referring file): a URDF that sits
       inside its own package, as vendor packages ship them.
    """
    found: list[Path] = []
    if package in OWN_PACKAGES:
        found.append(SOURCE_TREE)
    share = _ament_share(package)
    if share is not None:
        found.append(share)
    prefixes = [sys.prefix] + [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    found += [Path(p) / "share" / package for p in prefixes]
    found += [Path(p) / package for p in os.environ.get("ROS_PACKAGE_PATH", "").split(os.pathsep) if p]
    try:
        spec = importlib.util.find_spec(package) if package.isidentifier() else None
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        found += [Path(p) for p in spec.submodule_search_locations]
    if near is not None:
        found += [p for p in Path(near).resolve().parents if p.name == package][:1]
    unique: list[Path] = []
    for p in found:
        if p not in unique:
            unique.append(p)
    return unique


def candidates(ref: str, base: Path | None = None) -> list[Path]:
    """Every path ``ref`` may mean (see the module docstring), in the order they are tried."""
    ref = ref.removeprefix("file://")
    if ref.startswith(PACKAGE_SCHEME):
        package, _, rest = ref[len(PACKAGE_SCHEME) :].partition("/")
        return [d / rest for d in package_dirs(package, near=base)]
    path = Path(ref).expanduser()
    if path.is_absolute() or base is None:
        return [path]
    return [Path(base) / path]


def resolve(
    ref: str,
    base: Path | None = None,
    error: type[GestureError] = GestureError,
    what: str = "file",
    fix: str = "",
    directory: bool = False,
) -> Path:
    """The existing file (or, with ``directory``, folder) that ``ref`` names, relative to ``base``.

    Raises ``error`` naming ``what`` (e.g. ``urdf``), the reference, every place looked at and
    ``fix`` (what to do about it).
    """
    tried = candidates(ref, base)
    for path in tried:
        if path.is_dir() if directory else path.is_file():
            return path.resolve()
    where = ", ".join(map(str, tried)) or "nowhere"
    if ref.startswith(PACKAGE_SCHEME) and len(tried) <= 1:
        where += " (the package is not installed: source its workspace or set ROS_PACKAGE_PATH)"
    raise error(f"{what}: {ref!r} not found (looked at {where}){'; ' + fix if fix else ''}")


def bundled_file(folder: str, name: str, package: str, error: type[GestureError] = GestureError) -> Path:
    """``<folder>/<name>`` of one of the project's packages (``package``): the source tree's copy
    in a checkout, else the installed share's. Raises ``error`` naming the places looked at."""
    return resolve(f"{PACKAGE_SCHEME}{package}/{folder}/{name}", error=error, what=f"bundled {folder}/{name}")


def cache_dir(*parts: str) -> Path:
    """A folder under the user's cache (``$XDG_CACHE_HOME`` or ``~/.cache``)/``gesture_stack``."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gesture_stack"
    return root.joinpath(*parts)
