"""`archiver similar CASE`: groups of look-alike sealed images (pHash). Marks only: nothing
is deleted or changed, not even the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from ..config import load_settings
from ..seal.case import check_case_name, load_case_info
from ..seal.manifest import MANIFEST_NAME, Manifest
from ..seal.similar import Group, find_similar, sealed_images

out = Console(highlight=False, soft_wrap=True)


def similar(
    case: str = typer.Argument(..., help="Case name (a folder under the output dir)."),
    threshold: int = typer.Option(
        None, "--threshold", help="Max pHash Hamming distance, 0-64 (default: similar.threshold, 8)."
    ),
    out_dir: Path = typer.Option(None, "--out", help="Output folder (default: captures/)."),
    config: Path = typer.Option(None, "--config", help="TOML settings file."),
    as_json: bool = typer.Option(False, "--json", help="Print the groups as one JSON object."),
) -> None:
    """List groups of look-alike images in the case, earliest first in each group."""
    settings = load_settings(config, {"output_dir": out_dir, "similar": {"threshold": threshold}})
    folder = settings.output_dir / check_case_name(case)
    load_case_info(folder)  # a case folder, or a one-line error
    events = Manifest(folder / MANIFEST_NAME).events()
    limit = settings.similar.threshold
    groups = find_similar(events, limit)
    compared = len(sealed_images(events))
    if as_json:
        print(json.dumps({
            "case": case,
            "threshold": limit,
            "images": compared,
            "groups": [group_json(g) for g in groups],
        }))
        return
    if not groups:
        out.print(f"no look-alike images in case {escape(case)} ({compared} images, threshold {limit})")
        return
    out.print(
        f"{len(groups)} group{'s' if len(groups) != 1 else ''} of look-alike images in case "
        f"{escape(case)} ({compared} images, pHash distance <= {limit}); nothing was changed"
    )
    for number, group in enumerate(groups, 1):
        out.print(f"\ngroup {number}: {len(group.members)} images")
        for member in group.members:
            img = member.image
            out.print(
                f"  {img.time}  {escape(img.item)}  {escape(img.artifact)}  "
                f"sha256 {img.sha256[:12]}  distance {member.distance}"
            )


def group_json(group: Group) -> list[dict[str, object]]:
    return [
        {
            "item": m.image.item,
            "artifact": m.image.artifact,
            "kind": m.image.kind,
            "time": m.image.time,
            "seq": m.image.seq,
            "sha256": m.image.sha256,
            "phash": m.image.phash,
            "distance": m.distance,
        }
        for m in group.members
    ]
