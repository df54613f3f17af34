"""Settings: the example file is valid, typos are errors, env and flags override."""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver.config import load_settings
from archiver.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def test_example_config_matches_defaults():
    from_file = load_settings(ROOT / "config.example.toml", environ={})
    assert from_file.model_dump() == type(from_file)().model_dump()


def test_unknown_key_is_an_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[limits]\ncapture_timout = 5\n")
    with pytest.raises(UserError, match="limits.capture_timout"):
        load_settings(bad, environ={})


def test_precedence_file_env_flags(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[limits]\ncapture_timeout = 30\nscroll_timeout = 5\n")
    env = {"ARCHIVER_LIMITS__SCROLL_TIMEOUT": "7", "ARCHIVER_CHROMIUM": "/opt/chrome"}
    s = load_settings(cfg, {"limits": {"capture_timeout": 12.0, "load_timeout": None}}, environ=env)
    assert s.limits.capture_timeout == 12.0
    assert s.limits.scroll_timeout == 7.0
    assert s.limits.load_timeout == 20.0
    assert s.browser.executable_path == "/opt/chrome"


def test_missing_config_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_settings(tmp_path / "nope.toml", environ={})
