"""Finding files: the project's bundled URDFs and YAML, and every file a robot description names.

One function resolves every reference (:func:`resolve`): a robot config's ``urdf``, its mesh
folders, a URDF's ``<mesh filename>``. A reference is

- absolute (``/opt/robots/g1.urdf``, ``file:///opt/robots/g1.urdf``);
- ``package://<package>/<path>``, as in ROS: looked up in the package's share directory
  (:func:`package_dirs` lists where, in order);
- anything else: relative to the referring file's directory (``base``).

The project's own files are found by the same function, as ``package://<package>/<path>`` of the
package that installs them (:func:`bundled_file`):

- ``gesture_description``: ``urdf/``; ``gesture_bringup``: ``config/``, ``launch/``, ``worlds/``
  (ament packages): their **installed** share directory when the package is in the ament index (a
  sourced colcon workspace or ROS 2 install: exactly what ``ros2 launch`` uses), else their folder
  in the **source checkout** (``ros2_ws/src/<package>``, whose ``urdf/``, ``config/``, ...
  link to the repository's top-level folders), found through the editable install of the
  package (or of ``gesture_core``);
- ``gesture_core``: its package data (``weights/``), wherever the Python package is installed.

Never path arithmetic from a file's location: a colcon install puts each package under its own
prefix (``install/<package>/share/<package>``), a merged one all under one.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import json
import os
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

from .errors import GestureError

#: The bundled robots, by the one name everything uses (the launch argument ``robot``, test ids):
#: each has its robot config ``config/retarget_<name>.yaml``, which names its URDF.
ROBOTS = ("humanoid", "humanoid_7dof", "nao", "pepper", "icub")
#: The URDFs this project ships (``urdf/``, installed by gesture_description), by robot name; the
#: other bundled robots use their vendors' URDFs, untouched.
URDFS = {"humanoid": "gesture_humanoid.urdf", "humanoid_7dof": "gesture_humanoid_7dof.urdf"}
#: The robot used when none is named.
DEFAULT_ROBOT = "humanoid"

#: The project's ament packages (their shares: ``ros2_ws/src/<package>`` in a checkout).
OWN_PACKAGES = ("gesture_description", "gesture_bringup")
#: Where the project's ament packages live in a source checkout, relative to its root.
CHECKOUT_PACKAGES = "ros2_ws/src"
PACKAGE_SCHEME = "package://"


def _ament_share(package: str) -> Path | None:
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory(package))
    except (ImportError, LookupError, OSError, ValueError):  # no ament index, or no package in it
        return None


def _editable_source(distribution: str) -> Path | None:
    """The source folder of an editable install (``pip install -e``) of ``distribution``, from its
    ``direct_url.json`` (PEP 610), or None (not installed, or not editable)."""
    try:
        text = importlib.metadata.distribution(distribution).read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return None
    try:
        info = json.loads(text or "{}")
    except ValueError:
        return None
    url = urlparse(info.get("url", ""))
    if not info.get("dir_info", {}).get("editable") or url.scheme != "file":
        return None
    return Path(unquote(url.path))


@functools.cache
def checkout_root() -> Path | None:
    """The root of the source checkout this ``gesture_core`` runs from (its editable install), or
    None when it is installed from a wheel."""
    root = _editable_source("gesture-core")
    return root if root is not None and (root / CHECKOUT_PACKAGES).is_dir() else None


def package_share(package: str) -> Path | None:
    """The share directory of one of the project's ament packages (:data:`OWN_PACKAGES`): the
    installed one when the ament index knows the package, else its folder in the source checkout
    (its editable install's, or ``ros2_ws/src/<package>`` of :func:`checkout_root`); None if neither."""
    share = _ament_share(package)
    if share is not None:
        return share
    source = _editable_source(package)
    if source is None and (root := checkout_root()) is not None:
        source = root / CHECKOUT_PACKAGES / package
    return source if source is not None and source.is_dir() else None


def package_dirs(package: str, near: Path | None = None) -> list[Path]:
    """The directories ``package://<package>/...`` may mean, in the order they are tried.

    The project's own packages (:data:`OWN_PACKAGES`): only :func:`package_share`. Every other:

    1. the package's share directory in the ament index (a sourced ROS 2 / colcon install);
    2. ``<prefix>/share/<package>`` for this Python's prefix and every ``AMENT_PREFIX_PATH``
       entry (packages that install a share folder without registering, e.g. ``icub-models``);
    3. ``<dir>/<package>`` for every ``ROS_PACKAGE_PATH`` entry;
    4. the folder of an installed Python package of that name (found without importing it,
       e.g. ``qibullet``, and ``gesture_core``'s package data);
    5. the nearest folder named ``<package>`` above ``near`` (the referring file): a URDF that sits
       inside its own package, as vendor packages ship them.
    """
    if package in OWN_PACKAGES:
        share = package_share(package)
        return [share] if share is not None else []
    found: list[Path] = []
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
        where += " (is the package installed? source its workspace or set ROS_PACKAGE_PATH)"
    raise error(f"{what}: {ref!r} not found (looked at {where}){'; ' + fix if fix else ''}")


def bundled_file(
    folder: str, name: str, package: str, error: type[GestureError] = GestureError, directory: bool = False
) -> Path:
    """``<folder>/<name>`` of one of the project's packages (``package``): ``package://<package>/
    <folder>/<name>`` through :func:`resolve` (installed share, else the checkout's; see the module
    docstring). Raises ``error`` naming the places looked at."""
    return resolve(
        f"{PACKAGE_SCHEME}{package}/{folder}/{name}", error=error, what=f"bundled {folder}/{name}", directory=directory
    )


def cache_dir(*parts: str) -> Path:
    """A folder under the user's cache (``$XDG_CACHE_HOME`` or ``~/.cache``)/``gesture_stack``."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gesture_stack"
    return root.joinpath(*parts)
