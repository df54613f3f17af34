"""Typed settings: defaults, then a TOML file, then ARCHIVER_* environment, then flags.

Every knob the capture honours is a field here, so `provenance.json` can record the exact
options in force, and a typo in a config file is an error rather than a silent no-op.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import UserError

DEFAULT_CONFIG_PATHS = (Path("archiver.toml"), Path.home() / ".config" / "archiver" / "config.toml")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class BrowserSettings(Strict):
    executable_path: str | None = Field(
        None, description="Chromium to use; ARCHIVER_CHROMIUM overrides. Empty: find one."
    )
    headless: bool = True
    viewport_width: int = Field(1600, ge=320, le=7680)
    viewport_height: int = Field(900, ge=240, le=4320)
    user_agent: str | None = Field(None, description="Override the browser's own user agent.")
    locale: str = "en-US"
    timezone: str = "UTC"
    ignore_https_errors: bool = Field(
        False, description="Accept invalid certificates (the chain is still recorded)."
    )
    extra_args: list[str] = Field(default_factory=list, description="More Chromium flags.")


class LimitSettings(Strict):
    capture_timeout: float = Field(60.0, gt=0, description="Whole capture of one URL, seconds.")
    load_timeout: float = Field(20.0, gt=0, description="Wait for the load event, seconds.")
    network_idle_timeout: float = Field(10.0, ge=0, description="Each network-idle wait, seconds.")
    network_idle_quiet: float = Field(0.5, ge=0.05, description="Quiet time that counts as idle.")
    scroll_timeout: float = Field(15.0, ge=0, description="Scroll-through budget, seconds.")
    max_scroll_height: int = Field(30000, ge=0, description="Stop scrolling past this many px.")
    attachments_timeout: float = Field(30.0, gt=0, description="Screenshots, PDF and DOM.")
    max_total_bytes: int = Field(200 * 1024 * 1024, gt=0, description="All bodies together.")
    max_response_bytes: int = Field(50 * 1024 * 1024, gt=0, description="One body.")
    max_dom_nodes: int = Field(100_000, gt=0, description="Above this, no full-page shots.")
    max_screenshot_height: int = Field(20000, ge=900, description="Full-page shot height cap.")


class NetworkSettings(Strict):
    allow_private: bool = Field(
        False, description="Allow requests to private, loopback and link-local addresses."
    )


class IdentitySettings(Strict):
    key_path: Path = Field(
        Path("~/.config/archiver/station-key.pem"),
        description="The station's ECDSA P-384 key; created on first use, mode 600.",
    )
    operator: str | None = Field(None, description="Who operates this station (events).")


class TimestampSettings(Strict):
    enabled: bool = True
    tsa_urls: list[str] = Field(
        default_factory=lambda: ["https://freetsa.org/tsr", "http://timestamp.digicert.com"],
        description="RFC 3161 TSAs asked after every seal; one answer is enough.",
    )
    timeout: float = Field(10.0, gt=0, description="Seconds per TSA request.")
    trusted_roots: list[Path] = Field(
        default_factory=list, description="Extra PEM files of TSA root certificates."
    )


class DedupSettings(Strict):
    enabled: bool = Field(True, description="Identical payloads in a case -> revisit records.")
    min_size: int = Field(1024, ge=1, description="Smaller bodies are always stored.")


class SimilarSettings(Strict):
    threshold: int = Field(8, ge=0, le=64, description="Max pHash Hamming distance.")


class JobSettings(Strict):
    concurrency: int = Field(0, ge=0, le=32, description="Pages in parallel; 0 = CPU count.")
    retries: int = Field(2, ge=0, le=10, description="Retries for network errors, 5xx, 429.")
    retry_backoff: float = Field(2.0, ge=0, description="Seconds before the first retry; doubles.")
    per_host: int = Field(2, ge=1, description="Captures of one host at the same time.")
    host_delay: float = Field(1.0, ge=0, description="Seconds between starts on one host.")
    restart_every: int = Field(50, ge=1, description="Fresh browser after this many captures.")


class PlatformSettings(Strict):
    extract: bool = Field(True, description="Read the post into post.json; shoot the post element.")
    behaviours: bool = Field(True, description="Run page behaviours (consent, overlays, show more, ...).")
    behaviour_timeout: float = Field(20.0, ge=0, description="All behaviours of one capture, seconds.")
    thread_depth: int = Field(1, ge=0, le=20, description="Rounds of 'show replies' to open.")
    comments: bool = Field(True, description="Load the first page of comments.")
    media: bool = Field(True, description="Archive the post's full-size images and videos.")
    media_timeout: float = Field(30.0, ge=0, description="Fetching missing media in the page, seconds.")
    max_media_items: int = Field(50, ge=0, description="Media items of one post archived at most.")
    max_video_bytes: int = Field(500 * 1024 * 1024, gt=0, description="One video downloaded with yt-dlp.")
    video_timeout: float = Field(120.0, gt=0, description="All yt-dlp downloads of one capture, seconds.")
    yt_dlp: bool = Field(True, description="Use yt-dlp (when installed) for video the page did not load.")
    profile: str | None = Field(None, description="Saved login profile to capture with (archiver login).")
    update_profile: bool = Field(
        True,
        description="Save a session the site refreshed during a capture back to the profile "
        "(only when nothing of the saved one was dropped).",
    )
    profiles_dir: Path = Field(
        Path("~/.config/archiver/profiles"),
        description="Where login profiles live (never inside the captures folder).",
    )


class Settings(Strict):
    output_dir: Path = Path("captures")
    default_case: str = "default"
    browser: BrowserSettings = Field(default_factory=BrowserSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    timestamp: TimestampSettings = Field(default_factory=TimestampSettings)
    dedup: DedupSettings = Field(default_factory=DedupSettings)
    similar: SimilarSettings = Field(default_factory=SimilarSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    platforms: PlatformSettings = Field(default_factory=PlatformSettings)


ENV_PREFIX = "ARCHIVER_"


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """ARCHIVER_LIMITS__CAPTURE_TIMEOUT=30 -> {"limits": {"capture_timeout": "30"}}."""
    result: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or "__" not in key:
            continue
        section, _, name = key[len(ENV_PREFIX) :].lower().partition("__")
        result.setdefault(section, {})[name] = value
    if "ARCHIVER_CHROMIUM" in environ:
        result.setdefault("browser", {})["executable_path"] = environ["ARCHIVER_CHROMIUM"]
    return result


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(
    path: Path | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Build Settings from a TOML file (explicit, or the first default that exists),
    the environment, and flag overrides (nested dicts; None values are ignored)."""
    data: dict[str, Any] = {}
    candidates = [path] if path else [p for p in DEFAULT_CONFIG_PATHS if p.is_file()][:1]
    for candidate in candidates:
        try:
            with open(candidate, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise UserError(f"config file not found: {candidate}", hint="check the --config path")
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"config file {candidate} is not valid TOML: {exc}")
    data = _merge(data, _env_overrides(dict(os.environ if environ is None else environ)))
    data = _merge(data, _drop_none(overrides or {}))
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserError(f"bad setting {where}: {first['msg']}", hint="see config.example.toml")


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in d.items():
        if isinstance(value, dict):
            value = _drop_none(value)
            if value:
                out[key] = value
        elif value is not None:
            out[key] = value
    return out
