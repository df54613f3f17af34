"""Run a platform's extractor over a capture's evidence, fill its gaps from the generic
reading (JSON-LD, OpenGraph, Twitter cards, oEmbed, microformats), and decide whether the
page was a login wall instead of the post."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lxml.etree import LxmlError
from pydantic import ValidationError

from .base import Platform
from .evidence import PageEvidence
from .models import Post
from .registry import GENERIC

# what an extractor may raise on markup it does not expect; anything else is a bug to see
READ_ERRORS = (ValueError, KeyError, TypeError, AttributeError, IndexError, LxmlError, ValidationError)
LOGIN_PATH = re.compile(
    r"/(login|log-in|signin|sign-in|sign_in|accounts/login|i/flow/login|checkpoint|auth/login|login\.php)(/|$|\?)",
    re.I,
)
# fields the generic reading may fill when the platform's extractor left them empty
FILLABLE = ("id", "published", "published_raw", "title", "text", "language")
AUTHOR_FILLABLE = ("display_name", "handle", "url", "id", "avatar_url")


@dataclass
class Extracted:
    post: Post | None
    platform: str
    login_required: str | None = None
    notes: list[str] = field(default_factory=list)


def _run(platform: Platform, ev: PageEvidence, notes: list[str]) -> Post | None:
    try:
        return platform.extract(ev)
    except READ_ERRORS as exc:
        notes.append(f"{platform.name} extractor could not read the page: {type(exc).__name__}: {exc}"[:400])
        return None


def merge(post: Post, generic: Post) -> Post:
    """Fill what `post` lacks from `generic`; say which fields in extraction.fallback_used."""
    used: list[str] = []
    updates: dict[str, object] = {}
    for name in FILLABLE:
        if getattr(post, name) in (None, "") and getattr(generic, name) not in (None, ""):
            updates[name] = getattr(generic, name)
            used.append(name)
    author = {}
    for name in AUTHOR_FILLABLE:
        if getattr(post.author, name) in (None, "") and getattr(generic.author, name) not in (None, ""):
            author[name] = getattr(generic.author, name)
            used.append(f"author.{name}")
    if author:
        updates["author"] = post.author.model_copy(update=author)
    if not post.media and generic.media:
        updates["media"] = generic.media
        used.append("media")
    if not post.links and generic.links and "text" in used:
        updates["links"] = generic.links
        used.append("links")
    if not used:
        return post
    updates["sources"] = post.sources + [s for s in generic.sources if set(s.fields) & set(used)]
    updates["extraction"] = post.extraction.model_copy(update={"fallback_used": used})
    return post.model_copy(update=updates)


def generic_login_wall(ev: PageEvidence) -> str | None:
    path = urlsplit(ev.final_url).path + ("?" + urlsplit(ev.final_url).query if urlsplit(ev.final_url).query else "")
    if LOGIN_PATH.search(path) and ev.final_url != ev.url:
        return f"the page redirected to a login page ({ev.final_url})"
    if ev.select("form input[type=password]") and not ev.select("article"):
        return "the page shows a password form and no post"
    return None


def extract(platform: Platform, ev: PageEvidence) -> Extracted:
    notes: list[str] = []
    post = _run(platform, ev, notes) if platform is not GENERIC else None
    generic = _run(GENERIC, ev, notes)
    if post is None and generic is not None and platform is not GENERIC:
        generic = generic.model_copy(update={"platform": platform.name})
        notes.append(f"{platform.name} extractor found no post; the generic reading is used")
    if post is not None and generic is not None:
        post = merge(post, generic)
    elif post is None:
        post = generic
    wall = platform.login_wall(ev) if platform is not GENERIC else None
    wall = wall or generic_login_wall(ev)
    empty = post is None or (not post.text and not post.media)
    if wall and not empty and platform is not GENERIC and post is not None and post.extraction.extractor == platform.name:
        notes.append(f"login wall seen but the post was read anyway: {wall}")
        wall = None
    elif wall and not empty:
        # only page-level metadata (og:description of a login page) is no post
        notes.append("what was read comes from the login page's metadata, not from the post")
    return Extracted(post=post, platform=platform.name, login_required=wall, notes=notes)


def extract_capture(folder) -> Extracted:
    """Extraction over a finished capture folder (dom.html + the WARC's text responses)."""
    from .registry import platform_for_page

    ev = PageEvidence.from_capture(folder)
    return extract(platform_for_page(ev), ev)
