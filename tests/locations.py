"""Where things are, for the tests in any folder below ``tests/`` (importable: ``tests/`` is on sys.path)."""

from pathlib import Path

#: The repository root.
ROOT = Path(__file__).resolve().parents[1]
#: Third-party plug-in packages the tests put on PYTHONPATH.
PLUGINS = Path(__file__).resolve().parent / "plugins"
