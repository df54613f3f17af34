"""What several commands share: settings from --config/--out, the station and the case."""

from __future__ import annotations

from pathlib import Path

from ..config import Settings, load_settings
from ..errors import UserError
from ..seal.case import CASE_FILE, Case, check_case_name, open_case
from ..seal.identity import StationIdentity


def settings_for(config: Path | None, out: Path | None, **sections: object) -> Settings:
    return load_settings(config, {"output_dir": out, **sections})


def existing_case(settings: Settings, name: str, operator: str | None = None) -> Case:
    """Open a case that must already exist (commands that finish or inspect work)."""
    folder = Path(settings.output_dir) / check_case_name(name)
    if not (folder / CASE_FILE).is_file():
        raise UserError(f"no case {name!r} in {settings.output_dir}", hint="check --case / --out")
    identity = StationIdentity.load_or_create(settings.identity.key_path)
    return open_case(settings.output_dir, name, identity, operator or settings.identity.operator)
