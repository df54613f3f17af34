"""Login profiles: a browser's storage state (cookies, local storage) saved under a name, so
captures can see what a signed-in account sees. Kept outside the captures folder, mode 600,
never exported; a capture records only the profile's name (provenance.profile)."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import UserError
from .models import ProfileUse
from .storage.atomic import atomic_write_bytes

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def profiles_dir(settings: Settings) -> Path:
    return Path(os.path.expanduser(str(settings.platforms.profiles_dir)))


def check_name(name: str) -> str:
    if not NAME.match(name or ""):
        raise UserError(
            f"bad profile name {name!r}",
            hint="use letters, digits, '.', '_' or '-' (up to 64), e.g. 'x-newsroom'",
        )
    return name


def profile_path(settings: Settings, name: str) -> Path:
    return profiles_dir(settings) / f"{check_name(name)}.json"


def check_outside_captures(settings: Settings, path: Path) -> None:
    out = Path(os.path.expanduser(str(settings.output_dir))).resolve()
    where = path.resolve()
    if where == out or out in where.parents:
        raise UserError(
            f"profiles_dir {path.parent} is inside the captures folder {out}",
            hint="login secrets must never end up in evidence: set [platforms] profiles_dir elsewhere",
        )


def validate_state(data: Any, source: str) -> dict[str, Any]:
    """A Playwright storage state: {"cookies": [...], "origins": [...]}."""
    if not isinstance(data, dict) or not isinstance(data.get("cookies", []), list):
        raise UserError(f"{source} is not a browser storage state", hint="expected JSON with a 'cookies' list (Playwright storage_state)")
    for cookie in data.get("cookies", []):
        if not isinstance(cookie, dict) or not {"name", "value", "domain", "path"} <= cookie.keys():
            raise UserError(f"{source}: a cookie lacks name/value/domain/path", hint="export it with Playwright's storage_state()")
    data.setdefault("origins", [])
    return data


def save_profile(settings: Settings, name: str, state: dict[str, Any]) -> Path:
    path = profile_path(settings, name)
    check_outside_captures(settings, path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    state = validate_state(state, "the browser's state")
    record = dict(state)
    record["archiver"] = {"name": name, "saved": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    # written 600 from the start: the temp file is created by us, then renamed into place
    old = os.umask(0o077)
    try:
        atomic_write_bytes(path, json.dumps(record, indent=1).encode())
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    return path


def refreshed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """The browser's state at the end of a capture is worth saving over the profile: something
    changed (a rotated token, a renewed cookie) and nothing the profile held was dropped (a
    site that signed the session out, or a cookie that expired, leaves the profile as it was)."""
    old, new = _entries(before), _entries(after)
    kept = {key for key, _ in old} <= {key for key, _ in new}
    return kept and old != new


def _entries(state: dict[str, Any]) -> set[tuple[tuple[str, ...], str]]:
    """(what identifies it, its value) for every cookie and local-storage item."""
    cookies = {(("cookie", c["name"], c["domain"], c["path"]), c["value"]) for c in state.get("cookies") or []}
    storage = {
        (("storage", o.get("origin", ""), i.get("name", "")), i.get("value", ""))
        for o in state.get("origins") or []
        for i in o.get("localStorage") or []
    }
    return cookies | storage


def update_profile(settings: Settings, name: str, before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Save `after` as profile `name` when `refreshed(before, after)`; True if it was."""
    if not refreshed(before, after):
        return False
    save_profile(settings, name, after)
    return True


def load_profile(settings: Settings, name: str) -> tuple[dict[str, Any], ProfileUse]:
    path = profile_path(settings, name)
    if not path.exists():
        raise UserError(f"no login profile named {name!r} ({path})", hint=f"create it with: archiver login {name} URL")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise UserError(
            f"login profile {path} can be read by others (mode {mode:o})",
            hint=f"run: chmod 600 {path}",
        )
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise UserError(f"login profile {path} is not valid JSON: {exc}", hint=f"make it again: archiver login {name} URL")
    meta = data.pop("archiver", {}) if isinstance(data, dict) else {}
    state = validate_state(data, str(path))
    saved = meta.get("saved")
    use = ProfileUse(
        name=name,
        saved=datetime.fromisoformat(saved) if saved else None,
        cookies=len(state.get("cookies", [])),
    )
    return state, use


def list_profiles(settings: Settings) -> list[ProfileUse]:
    folder = profiles_dir(settings)
    out = []
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        try:
            out.append(load_profile(settings, path.stem)[1])
        except UserError:
            continue
    return out
