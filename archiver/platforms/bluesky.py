"""Bluesky: placeholder until its extractor lands (see docs/platforms.md)."""

from __future__ import annotations

from .base import Platform

PLATFORM = Platform(name="bluesky", hosts=("bsky.app", ))
