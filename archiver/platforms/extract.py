"""Run a platform's extractor over a capture's evidence, fill its gaps from the generic
reading (JSON-LD, OpenGraph, Twitter cards, oEmbed, microformats), and decide whether the
page was a login wall instead of the post."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from lxml.etree import LxmlError
from pydantic import ValidationError

from .base import Platform
from .evidence import PageEvidence
from .models import Post
from .registry import GENERIC, platform_for_page

# what an extractor may raise on markup it does not expect; anything else is a bug to see
READ_ERRORS = (ValueError, KeyError, TypeError, AttributeError, IndexError, LxmlError, ValidationError)
LOGIN_PATH = re.compile(
    r"/(login|log-in|signin|sign-in|sign_in|accounts/login|i/flow/login|checkpoint|auth/login|login\.php)(/|$|\?)",
    re.I,
)
LOGIN_PAGE_WORDS = 250
LOGIN_WORDS = re.compile(
    r"\b(log ?in|sign ?in|sign up|masuk|daftar|anmelden|connexion|se connecter|iniciar sesi[oó]n|entrar|accedi)\b", re.I
)
# fields the generic reading may fill when the platform's extractor left them empty. Not
# `title` (og:title is the page's name, "NASA on Instagram: …", not the post's) and not
# `language` (<html lang> is the site's interface language): a platform module that knows
# its posts have them reads them itself.
FILLABLE = ("id", "published", "published_raw", "text")
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


def merge(post: Post, generic: Post, never: tuple[str, ...] = ()) -> Post:
    """Fill what `post` lacks from `generic` (except the fields in `never`); say which
    fields in extraction.fallback_used."""
    used: list[str] = []
    updates: dict[str, object] = {}
    for name in FILLABLE:
        if name in never:
            continue
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
    if not post.media and generic.media and "media" not in never:
        updates["media"] = generic.media
        used.append("media")
    if not post.links and generic.links and "text" in used:
        updates["links"] = generic.links
        used.append("links")
    if not used:
        return post
    # the generic sources that gave what was taken, listing only the fields taken from them
    # ("author.url" taken counts for a source that lists "author")
    taken = set(used) | {u.split(".")[0] for u in used}
    updates["sources"] = post.sources + [
        s.model_copy(update={"fields": [f for f in s.fields if f in taken]})
        for s in generic.sources
        if set(s.fields) & taken
    ]
    updates["extraction"] = post.extraction.model_copy(update={"fallback_used": used})
    return post.model_copy(update=updates)


def generic_login_wall(ev: PageEvidence) -> str | None:
    parts = urlsplit(ev.final_url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if LOGIN_PATH.search(path) and ev.final_url != ev.url:
        return f"the page redirected to a login page ({ev.final_url})"
    # a password field alone is no wall (many sites keep a hidden sign-in form in their
    # header): a login page is short, has no article, and says so in its title or heading
    if ev.select("form input[type=password]") and not ev.select("article"):
        body = ev.first("body")
        words = len((body.text_content() if body is not None else "").split())
        heading = " ".join(e.text_content() for e in ev.select("title, h1")[:3])
        if words < LOGIN_PAGE_WORDS and LOGIN_WORDS.search(heading):
            return "the page shows a sign-in form and no post"
    return None


def extract(platform: Platform, ev: PageEvidence) -> Extracted:
    notes: list[str] = []
    own = _run(platform, ev, notes) if platform is not GENERIC else None
    generic = _run(GENERIC, ev, notes)
    if platform is GENERIC:
        own, generic = generic, None
    wall = platform.login_wall(ev) if platform is not GENERIC else None
    wall = wall or generic_login_wall(ev)
    # A post behind the wall? Judged on the platform's own reading, before the generic one
    # fills gaps from page metadata (a login page's og:description is no post). On an
    # unknown site the generic reading cannot tell a post from a login page's own metadata:
    # there the wall wins.
    if wall and platform is not GENERIC and own is not None and (own.text or own.media):
        notes.append(f"login wall seen but the post was read anyway: {wall}")
        wall = None
    if wall:
        if platform is GENERIC or own is None:
            if own is not None or generic is not None:
                notes.append("the page is a login wall: its metadata is not taken for the post")
            own = None
        else:
            notes.append("the page is a login wall: only what the platform's own reading found is kept")
        return Extracted(post=own, platform=platform.name, login_required=wall, notes=notes)
    if own is None and generic is not None:
        notes.append(f"{platform.name} extractor found no post; the generic reading is used")
        return Extracted(post=generic.model_copy(update={"platform": platform.name}), platform=platform.name, notes=notes)
    if own is not None and generic is not None:
        own = merge(own, generic, platform.no_fallback)
    return Extracted(post=own, platform=platform.name, notes=notes)


def extract_capture(folder: Path) -> Extracted:
    """Extraction over a finished capture folder (dom.html + the WARC's text responses)."""
    ev = PageEvidence.from_capture(folder)
    return extract(platform_for_page(ev), ev)
