"""A vendor's URDF made ready for MuJoCo's importer, in memory (the file on disk stays untouched).

:func:`prepare_urdf` returns the URDF text MuJoCo should read and what it did to get there:

- **compiler flags** the project relies on are set in code: ``discardvisual="false"`` (the robot
  is rendered), ``fusestatic="false"`` (every URDF link stays a body, so skeleton points can sit on
  any link) and ``strippath="false"`` (mesh paths are resolved here, see below). A URDF's own
  ``<mujoco>`` blocks are merged into one (MuJoCo refuses two) and keep their other settings; a
  flag of theirs that the project overrides is logged.
- **mesh files** are resolved like every other reference (:func:`gesture_core.bundled.resolve`):
  ``package://``, absolute, relative to the URDF, relative to a ``<compiler meshdir>`` (also with
  the directories of the file name stripped, as MuJoCo does: ``meshdir="meshes/"`` plus
  ``filename="meshes/pelvis.STL"`` is found either way), or in one of the ``mesh_paths`` given
  (folders, or ``.zip`` archives extracted once into the user's cache). A mesh that is missing,
  in a format MuJoCo cannot read, or inside an encrypted archive is dropped from the model: the
  caller draws the link as primitives instead (:attr:`PreparedURDF.bare_links`), and one warning
  says how many were dropped, the first one, why, and the fix.
- **floating joints** (a ``world -> base`` joint of type ``floating``) become fixed: the robot is
  welded at its root link in simulation (a root link without a joint is welded anyway).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .bundled import PACKAGE_SCHEME, cache_dir, candidates
from .errors import RobotDescriptionError

log = logging.getLogger(__name__)

#: Compiler flags the project sets whatever the URDF says (why, in the module docstring).
COMPILER_FLAGS = {"discardvisual": "false", "fusestatic": "false", "strippath": "false"}
#: Compiler attributes that name folders: resolved here, so MuJoCo must not prepend them again.
COMPILER_DIRS = ("meshdir", "assetdir", "texturedir")
#: Mesh file formats MuJoCo reads (lower-case suffixes).
MESH_FORMATS = (".stl", ".obj", ".msh")


@dataclass
class PreparedURDF:
    """The URDF text for MuJoCo and the repairs made: ``bare_links`` lost every visual mesh (draw
    them as primitives); ``dropped`` lists (mesh reference, reason); ``welded`` the floating joints
    made fixed."""

    text: str
    bare_links: list[str] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    welded: list[str] = field(default_factory=list)
    meshes: int = 0


def _merged_mujoco_block(robot: ET.Element, path: Path) -> tuple[ET.Element, dict[str, str]]:
    """One ``<mujoco>`` element in place of the URDF's own (merged), with the project's flags set.
    Returns it and the URDF's original compiler attributes."""
    blocks = robot.findall("mujoco")
    merged = ET.Element("mujoco")
    compiler_attrs: dict[str, str] = {}
    for block in blocks:
        for child in block:
            if child.tag == "compiler":
                compiler_attrs.update(child.attrib)
            else:
                merged.append(child)
        robot.remove(block)
    if len(blocks) > 1:
        log.info("%s: merged its %d <mujoco> blocks into one", path, len(blocks))
    for key, value in COMPILER_FLAGS.items():
        if key in compiler_attrs and compiler_attrs[key].lower() != value:
            log.info(
                "%s: <mujoco><compiler %s=%r> overridden by %r (the project sets it in code)",
                path, key, compiler_attrs[key], value,
            )  # fmt: skip
    compiler = {k: v for k, v in compiler_attrs.items() if k not in COMPILER_DIRS} | COMPILER_FLAGS
    merged.insert(0, ET.Element("compiler", compiler))
    robot.insert(0, merged)
    return merged, compiler_attrs


def extracted_archive(archive: Path) -> Path:
    """The folder where ``archive`` (a ``.zip``) is extracted, once, under the user's cache.

    Raises :class:`RobotDescriptionError` if it cannot be read or is encrypted (the message names
    the archive and what to do).
    """
    digest = hashlib.sha256(f"{archive.resolve()}:{archive.stat().st_mtime_ns}".encode()).hexdigest()[:16]
    target = cache_dir("meshes", f"{archive.stem}-{digest}")
    if (target / ".complete").is_file():
        return target
    try:
        with zipfile.ZipFile(archive) as zf:
            if any(info.flag_bits & 0x1 for info in zf.infolist()):
                raise RobotDescriptionError(
                    f"mesh archive {archive} is encrypted; extract it with its vendor's installer "
                    "(accepting its licence) and list the extracted folder under mesh_paths"
                )
            tmp = target.with_name(target.name + ".part")
            shutil.rmtree(tmp, ignore_errors=True)
            zf.extractall(tmp)
    except (OSError, zipfile.BadZipFile) as exc:
        raise RobotDescriptionError(f"mesh archive {archive} cannot be read: {exc}") from None
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    (target / ".complete").write_text(str(archive))
    log.info("extracted mesh archive %s into %s", archive, target)
    return target


def _mesh_roots(mesh_paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Folders to search for meshes (archives extracted) and the reasons of archives left out."""
    roots, problems = [], []
    for p in mesh_paths:
        if p.is_dir():
            roots.append(p)
        elif p.suffix.lower() == ".zip" and p.is_file():
            try:
                roots.append(extracted_archive(p))
            except RobotDescriptionError as exc:
                problems.append(str(exc))
        else:
            problems.append(f"mesh path {p} is neither a folder nor a .zip archive")
    return roots, problems


def _mesh_candidates(ref: str, urdf_dir: Path, meshdir: str | None, roots: list[Path]) -> list[Path]:
    """Where mesh reference ``ref`` may be, in order."""
    found = candidates(ref, urdf_dir)
    rest = ref.split("/", 3)[3] if ref.startswith(PACKAGE_SCHEME) and ref.count("/") >= 3 else ref
    rel = PurePosixPath(rest.removeprefix("file://"))
    if not rel.is_absolute():
        if meshdir:
            found += [urdf_dir / meshdir / rel, urdf_dir / meshdir / rel.name]
        for root in roots:
            found += [root / rel] + [root / PurePosixPath(*rel.parts[i:]) for i in range(1, len(rel.parts))]
    return found


def prepare_urdf(
    path: Path, text: str, mesh_paths: list[Path] | tuple[Path, ...] = (), meshes: bool = True
) -> PreparedURDF:
    """The URDF ``text`` (read from ``path``) as MuJoCo should load it: see the module docstring.
    Without ``meshes`` every mesh geometry is left out, silently (a model for kinematics only)."""
    try:
        robot = ET.fromstring(text)
    except ET.ParseError as exc:
        raise RobotDescriptionError(f"{path}: not well-formed XML: {exc}") from None
    _, compiler_attrs = _merged_mujoco_block(robot, path)
    urdf_dir = path.resolve().parent
    meshdir = compiler_attrs.get("meshdir") or compiler_attrs.get("assetdir")
    roots, problems = _mesh_roots([Path(p) for p in mesh_paths]) if meshes else ([], [])
    prepared = PreparedURDF(text="")
    for joint in robot.findall("joint"):
        if joint.get("type") == "floating":
            joint.set("type", "fixed")
            prepared.welded.append(joint.get("name", "?"))
    for link in robot.findall("link"):
        lost_visual = False
        for kind in ("visual", "collision"):
            for el in link.findall(kind):
                mesh = el.find("geometry/mesh")
                if mesh is None:
                    continue
                if not meshes:
                    link.remove(el)
                    continue
                prepared.meshes += 1
                ref = mesh.get("filename", "")
                reason = _use_mesh(mesh, ref, urdf_dir, meshdir, roots)
                if reason is not None:
                    prepared.dropped.append((ref, reason))
                    link.remove(el)
                    lost_visual |= kind == "visual"
        if lost_visual and link.find("visual") is None:
            prepared.bare_links.append(link.get("name", "?"))
    if prepared.welded:
        log.info("%s: welded at its root in simulation (floating joint %s made fixed)", path, ", ".join(prepared.welded))
    if prepared.dropped:
        ref, reason = prepared.dropped[0]
        log.warning(
            "%s: %d of %d mesh references could not be used (first: %r: %s)%s; %d link(s) drawn as primitives. "
            "Fix: install the meshes and list their folder (or .zip) under mesh_paths in the robot config",
            path, len(prepared.dropped), prepared.meshes, ref, reason,
            "".join(f"; {p}" for p in problems), len(prepared.bare_links),
        )  # fmt: skip
    prepared.text = ET.tostring(robot, encoding="unicode")
    return prepared


def _use_mesh(mesh: ET.Element, ref: str, urdf_dir: Path, meshdir: str | None, roots: list[Path]) -> str | None:
    """Point ``mesh`` at the resolved absolute file of ``ref``; the reason it cannot be used, else None."""
    if not ref:
        return "no filename"
    tried = _mesh_candidates(ref, urdf_dir, meshdir, roots)
    found = next((p for p in tried if p.is_file()), None)
    if found is None:
        return f"not found (looked at {tried[0]}" + (f" and {len(tried) - 1} more places)" if len(tried) > 1 else ")") if tried else "not found"
    if found.suffix.lower() not in MESH_FORMATS:
        return f"{found.suffix} is not a mesh format MuJoCo reads ({', '.join(MESH_FORMATS)})"
    mesh.set("filename", str(found.resolve()))
    return None
