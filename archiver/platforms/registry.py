"""Which platform module reads a URL: by host first, then (after the capture) by what the
page itself says (self-hosted platforms such as Mastodon). Generic is the fallback."""

from __future__ import annotations

from . import bluesky, facebook, generic, instagram, mastodon, reddit, telegram, threads, tiktok, x, youtube
from .base import Platform
from .evidence import PageEvidence

PLATFORMS: tuple[Platform, ...] = (
    x.PLATFORM,
    facebook.PLATFORM,
    instagram.PLATFORM,
    tiktok.PLATFORM,
    telegram.PLATFORM,
    youtube.PLATFORM,
    mastodon.PLATFORM,
    bluesky.PLATFORM,
    threads.PLATFORM,
    reddit.PLATFORM,
)
GENERIC: Platform = generic.PLATFORM


def platform_for_url(url: str) -> Platform:
    for platform in PLATFORMS:
        if platform.matches(url):
            return platform
    return GENERIC


def platform_for_page(ev: PageEvidence) -> Platform:
    """After the capture: the URL's platform, else one whose markup the page carries."""
    for url in (ev.url, ev.final_url):
        found = platform_for_url(url)
        if found is not GENERIC:
            return found
    for platform in PLATFORMS:
        if platform.detect(ev):
            return platform
    return GENERIC


def by_name(name: str) -> Platform:
    for platform in (*PLATFORMS, GENERIC):
        if platform.name == name:
            return platform
    raise KeyError(name)
