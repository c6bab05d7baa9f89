"""The backend registry: the project's backends and a third-party plug-in, found by entry point."""

from __future__ import annotations

import pytest
from locations import PLUGINS

from gesture_core.errors import ConfigError
from gesture_core.generation.factory import make_generator
from gesture_core.models import registry
from gesture_core.settings import specs


@pytest.fixture
def with_plugins(monkeypatch: pytest.MonkeyPatch):
    """tests/plugins on sys.path (as an installed package would be), the registry read afresh."""
    monkeypatch.syspath_prepend(str(PLUGINS))
    registry.backends.cache_clear()
    yield
    registry.backends.cache_clear()


def test_the_projects_backends_describe_themselves():
    found = registry.backends()
    assert {"procedural", "trimodal", "diffusion"} <= set(found)
    assert not found["procedural"].needs_checkpoint and found["diffusion"].needs_checkpoint
    assert [i.name for i in specs(found["diffusion"].settings)] == ["steps", "guidance_scale", "eta"]
    assert specs(found["procedural"].settings) == []


def test_a_plug_in_is_found_built_and_configured(with_plugins):
    wave = registry.get_backend("wave")
    assert [i.name for i in specs(wave.settings)] == ["frequency"]
    gen = make_generator("wave", frequency=2.5)
    assert gen.name == "wave" and gen.frequency == 2.5
    with pytest.raises(ConfigError, match="frequency=9.0 is outside"):
        make_generator("wave", frequency=9.0)


def test_unknown_backends_name_the_installed_ones():
    with pytest.raises(ConfigError, match="not one of the installed backends"):
        registry.get_backend("gan")
