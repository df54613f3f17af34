"""Instagram: a post www.instagram.com/p/<shortcode>/ (also /reel/, /reels/, /tv/ and
/<user>/p/<shortcode>/).

Read from the media item Instagram's own web app renders: the v1 media item (`code`,
`taken_at`, `caption.text`, `image_versions2`, `carousel_media`, `video_versions`, ...) found
in the page's <script type="application/json" data-sjs> blobs (RelayPrefetchedStreamCache:
xdt_api__v1__media__shortcode__web_info / xig_polaris_media) or in recorded responses of
/api/graphql, /graphql/query and /api/v1/media/<pk>/info/; the older GraphQL shape
(`xdt_shortcode_media` / `shortcode_media`: display_resources, edge_sidecar_to_children, ...)
too. The DOM (<time datetime>, the caption <h1>, the likes link) and og:description give what
the JSON lacks. See docs/platforms/instagram.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from ..capture.behaviours.dialogs import login_dialog_script
from ..capture.behaviours.runner import Behaviour
from .base import Platform, count, parse_time
from .evidence import PageEvidence
from .models import Author, Count, Extraction, Link, LinkKind, Media, MediaType, Post, Source, SourceKind

NAME = "instagram"
VERSION = 1
BASE = "https://www.instagram.com"
POST_PATH = re.compile(r"^/(?:[A-Za-z0-9._]+/)?(p|reel|reels|tv)/([A-Za-z0-9_-]+)")
SJS = 'script[type="application/json"][data-sjs]'
API = r"instagram\.com(:\d+)?/(api/graphql|graphql/query|api/v1/media/\d+/info)"
MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?)")
HASHTAG = re.compile(r"(?<![\w&#])#(\w+)")
OG_COUNTS = re.compile(r"^\s*([\d.,]+[KkMm]?)\s+likes?,\s*([\d.,]+[KkMm]?)\s+comments?\s+-\s+([^\s]+)\s+on\s+([^:]+):")
LOGIN_FORM = "form#loginForm, form[id=loginForm], input[name=username] ~ input[name=password], input[name=password]"


@dataclass
class Found:
    """The post's media item, its shape ('v1' or 'graphql') and where it came from."""

    item: dict[str, Any]
    shape: str
    kind: SourceKind
    locator: str


def shortcode(url: str) -> tuple[str, str] | None:
    m = POST_PATH.match(urlsplit(url).path)
    return (m.group(1), m.group(2)) if m else None


def _walk(node: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 60:
        return
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value, depth + 1)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value, depth + 1)


def _match(node: dict[str, Any], code: str | None) -> str | None:
    """'v1' or 'graphql' when `node` is the media item of the post `code`."""
    if "taken_at" in node and (node.get("code") == code or (code is None and node.get("code"))):
        if any(k in node for k in ("image_versions2", "carousel_media", "video_versions", "caption")):
            return "v1"
    if node.get("shortcode") == code or (code is None and node.get("shortcode")):
        if "taken_at_timestamp" in node or "display_url" in node:
            return "graphql"
    return None


def _sjs_blobs(ev: PageEvidence) -> Iterator[tuple[int, Any]]:
    for index, script in enumerate(ev.select(SJS)):
        text = script.text or ""
        if "taken_at" not in text:
            continue
        try:
            yield index, json.loads(text)
        except ValueError:
            continue


def find_item(ev: PageEvidence, code: str | None) -> Found | None:
    for index, blob in _sjs_blobs(ev):
        for node in _walk(blob):
            shape = _match(node, code)
            if shape:
                return Found(node, shape, SourceKind.EMBEDDED_JSON, f"{SJS} (#{index + 1} on the page)")
    for url, data in ev.api_json(API):
        for node in _walk(data):
            shape = _match(node, code)
            if shape:
                return Found(node, shape, SourceKind.API_JSON, url)
    return None


# -- reading ------------------------------------------------------------------------------


def caption_links(text: str) -> list[Link]:
    """@mentions and #hashtags of a caption, in order (Instagram links only these)."""
    found: list[tuple[int, Link]] = []
    for m in MENTION.finditer(text):
        found.append((m.start(), Link(kind=LinkKind.MENTION, text=m.group(0), url=f"{BASE}/{m.group(1)}/")))
    for m in HASHTAG.finditer(text):
        found.append((m.start(), Link(kind=LinkKind.HASHTAG, text=m.group(0), url=f"{BASE}/explore/tags/{quote(m.group(1))}/")))
    return [link for _pos, link in sorted(found, key=lambda p: p[0])]


def _biggest(candidates: list[dict[str, Any]], url_key: str, w: str, h: str) -> dict[str, Any] | None:
    good = [c for c in candidates if isinstance(c, dict) and c.get(url_key)]
    return max(good, key=lambda c: (c.get(w) or 0) * (c.get(h) or 0), default=None)


def _v1_media(node: dict[str, Any]) -> Media | None:
    image = _biggest(((node.get("image_versions2") or {}).get("candidates")) or [], "url", "width", "height")
    alt = node.get("accessibility_caption") or None
    videos = node.get("video_versions") or []
    if videos:
        video = _biggest(videos, "url", "width", "height") or videos[0]
        return Media(
            type=MediaType.VIDEO, url=video["url"], alt=alt,
            width=video.get("width") or node.get("original_width"), height=video.get("height") or node.get("original_height"),
            poster_url=image["url"] if image else None,
        )
    if image is None:
        return None
    return Media(type=MediaType.IMAGE, url=image["url"], alt=alt, width=image.get("width"), height=image.get("height"))


def _gql_media(node: dict[str, Any]) -> Media | None:
    dims = node.get("dimensions") or {}
    alt = node.get("accessibility_caption") or None
    best = _biggest(node.get("display_resources") or [], "src", "config_width", "config_height")
    still = best["src"] if best else node.get("display_url")
    if node.get("is_video") and node.get("video_url"):
        return Media(type=MediaType.VIDEO, url=node["video_url"], alt=alt, width=dims.get("width"), height=dims.get("height"), poster_url=still)
    if not still:
        return None
    width = best.get("config_width") if best else dims.get("width")
    height = best.get("config_height") if best else dims.get("height")
    return Media(type=MediaType.IMAGE, url=still, alt=alt, width=width, height=height)


@dataclass
class Fields:
    author: Author
    taken_at: Any
    text: str | None
    media: list[Media]
    numbers: dict[str, int]  # count name -> number stated in the JSON
    product: str | None


def read_v1(item: dict[str, Any]) -> Fields:
    user = item.get("user") or item.get("owner") or {}
    name = user.get("username")
    pic = ((user.get("hd_profile_pic_url_info") or {}).get("url")) or user.get("profile_pic_url")
    children = [c for c in item.get("carousel_media") or [] if isinstance(c, dict)]
    media = [m for m in (_v1_media(c) for c in (children or [item])) if m is not None]
    numbers = {}
    if not item.get("like_and_view_counts_disabled"):
        if isinstance(item.get("like_count"), int):
            numbers["likes"] = item["like_count"]
        views = item.get("play_count") or item.get("ig_play_count") or item.get("view_count")
        if isinstance(views, int) and item.get("media_type") == 2:  # a video's plays
            numbers["views"] = views
    if isinstance(item.get("comment_count"), int):
        numbers["comments"] = item["comment_count"]
    return Fields(
        author=Author(
            display_name=user.get("full_name") or None,
            handle=f"@{name}" if name else None,
            url=f"{BASE}/{name}/" if name else None,
            id=str(user.get("pk") or user.get("id") or "") or None,
            avatar_url=pic or None,
            verified=bool(user["is_verified"]) if "is_verified" in user else None,
        ),
        taken_at=item.get("taken_at"),
        text=((item.get("caption") or {}).get("text")) or None,
        media=media,
        numbers=numbers,
        product=item.get("product_type"),
    )


def _edge_count(item: dict[str, Any], *names: str) -> int | None:
    for name in names:
        value = (item.get(name) or {}).get("count")
        if isinstance(value, int):
            return value
    return None


def read_graphql(item: dict[str, Any]) -> Fields:
    owner = item.get("owner") or {}
    name = owner.get("username")
    edges = ((item.get("edge_sidecar_to_children") or {}).get("edges")) or []
    children = [e.get("node") for e in edges if isinstance(e, dict) and isinstance(e.get("node"), dict)]
    media = [m for m in (_gql_media(c) for c in (children or [item])) if m is not None]
    captions = ((item.get("edge_media_to_caption") or {}).get("edges")) or []
    numbers = {
        "likes": _edge_count(item, "edge_media_preview_like", "edge_liked_by"),
        "comments": _edge_count(item, "edge_media_to_parent_comment", "edge_media_to_comment", "edge_media_preview_comment"),
        "views": (item.get("video_play_count") or item.get("video_view_count")) if item.get("is_video") else None,
    }
    return Fields(
        author=Author(
            display_name=owner.get("full_name") or None,
            handle=f"@{name}" if name else None,
            url=f"{BASE}/{name}/" if name else None,
            id=str(owner["id"]) if owner.get("id") else None,
            avatar_url=owner.get("profile_pic_url") or None,
            verified=bool(owner["is_verified"]) if "is_verified" in owner else None,
        ),
        taken_at=item.get("taken_at_timestamp"),
        text=(captions[0].get("node") or {}).get("text") if captions else None,
        media=media,
        numbers={k: v for k, v in numbers.items() if isinstance(v, int)},
        product=item.get("product_type"),
    )


def _likes_shown(ev: PageEvidence, code: str) -> tuple[str, str] | None:
    """The likes count as the page shows it: the link to /p/<code>/liked_by/."""
    for el in ev.select(f'a[href$="/{code}/liked_by/"], a[href*="/liked_by/"]'):
        m = re.search(r"\d[\d.,]*\s*[KkMm]?", el.text_content())
        if m:
            return m.group(0).strip(), f'a[href$="/{code}/liked_by/"]'
    return None


def _counts(ev: PageEvidence, code: str, numbers: dict[str, int], found: Found) -> tuple[list[Count], list[Source]]:
    counts: list[Count] = []
    sources: list[Source] = []
    shown = _likes_shown(ev, code) if "likes" in numbers else None
    from_json = []
    for name in ("likes", "comments", "views"):
        if name not in numbers:
            continue
        if name == "likes" and shown is not None:
            c = count(name, shown[0])
            sources.append(Source(kind=SourceKind.DOM, locator=shown[1], fields=["counts.likes"]))
        else:
            c = count(name, str(numbers[name]))
            from_json.append(f"counts.{name}")
        if c is not None:
            counts.append(c)
    if from_json:
        sources.append(Source(kind=found.kind, locator=found.locator, fields=from_json))
    return counts, sources


def from_item(ev: PageEvidence, found: Found, kind: str, code: str) -> Post:
    fields = read_v1(found.item) if found.shape == "v1" else read_graphql(found.item)
    if fields.product == "clips" or kind in ("reel", "reels"):
        kind = "reel"
    elif kind != "tv":
        kind = "p"
    counts, count_sources = _counts(ev, code, fields.numbers, found)
    text = fields.text
    raw = fields.taken_at
    return Post(
        platform=NAME,
        id=code,
        url=f"{BASE}/{kind}/{code}/",
        author=fields.author,
        published=parse_time(raw),
        published_raw=str(raw) if raw not in (None, "") else None,
        text=text,
        links=caption_links(text) if text else [],
        media=fields.media,
        counts=counts,
        sources=[
            Source(kind=SourceKind.URL, locator=ev.final_url if shortcode(ev.final_url) else ev.url, fields=["id", "url"]),
            Source(kind=found.kind, locator=found.locator, fields=["author", "published", "text", "links", "media"]),
            *count_sources,
        ],
        extraction=Extraction(extractor=NAME, version=VERSION),
    )


def from_page(ev: PageEvidence, kind: str, code: str) -> Post | None:
    """No media item recorded: the caption <h1>, <time datetime> and og:description."""
    og = ev.meta("og:description") or ""
    m = OG_COUNTS.match(og)
    h1 = ev.first("main h1, article h1")
    time = ev.first("main time[datetime], article time[datetime]")
    image = ev.meta("og:image")
    if not (m or h1 is not None):
        return None
    sources = [Source(kind=SourceKind.URL, locator=ev.final_url, fields=["id", "url"])]
    text = h1.text_content().strip() if h1 is not None else None
    if text:
        sources.append(Source(kind=SourceKind.DOM, locator="main h1", fields=["text", "links"]))
    handle = m.group(3) if m else None
    counts = [c for c in ((count("likes", m.group(1)), count("comments", m.group(2))) if m else ()) if c]
    if m:
        sources.append(Source(kind=SourceKind.OPENGRAPH, locator="og:description", fields=["author.handle", "counts"]))
    raw = time.get("datetime") if time is not None else None
    if raw:
        sources.append(Source(kind=SourceKind.DOM, locator="time[datetime]", fields=["published"]))
    media = [Media(type=MediaType.IMAGE, url=image)] if image else []
    if media:
        sources.append(Source(kind=SourceKind.OPENGRAPH, locator="og:image", fields=["media"]))
    return Post(
        platform=NAME,
        id=code,
        url=f"{BASE}/{'reel' if kind in ('reel', 'reels') else kind}/{code}/",
        author=Author(handle=f"@{handle}" if handle else None, url=f"{BASE}/{handle}/" if handle else None),
        published=parse_time(raw),
        published_raw=raw,
        text=text or None,
        links=caption_links(text) if text else [],
        media=media,
        counts=counts,
        sources=sources,
        extraction=Extraction(extractor=NAME, version=VERSION),
    )


# -- behaviours -----------------------------------------------------------------------------

CLOSE_LOGIN_JS = login_dialog_script(
    words="log in|sign up|masuk|daftar", close='[aria-label="Close"], [aria-label="Tutup"]'
)

CAROUSEL_JS = r"""async (args) => {
  const actions = [];
  const scope = document.querySelector('main') || document;
  const button = (labels) => {
    for (const label of labels) {
      const b = scope.querySelector(`button[aria-label="${label}"]`);
      if (b && b.isConnected && b.getClientRects().length) return b;
    }
    return null;
  };
  const next = () => button(['Next', 'Berikutnya']);
  const back = () => button(['Go back', 'Kembali']);
  const first = next();
  if (!first) return {actions, more: false};
  const box = first.parentElement;
  const pause = () => new Promise((r) => setTimeout(r, 250));  // the slide's media starts loading
  let clicks = 0;
  const until = Date.now() + 3500;
  for (let b = first; b && clicks < 20 && Date.now() < until; b = next()) { b.click(); clicks++; await pause(); }
  const slides = box ? box.querySelectorAll('li').length : 0;
  actions.push(`stepped through the carousel: ${clicks} clicks on button[aria-label="Next"], ${slides} slides in the page`);
  let backs = 0;
  for (let b = back(); b && backs < clicks && Date.now() < until + 1000; b = back()) { b.click(); backs++; await pause(); }
  if (backs) actions.push(`back to the first slide (${backs} clicks on button[aria-label="Go back"])`);
  return {actions, more: false};
}"""

BEHAVIOURS = (
    Behaviour(
        name="instagram-login-dialog",
        description="Close the 'Log in / Sign up' dialog Instagram lays over posts for visitors (aria-label=Close).",
        script=CLOSE_LOGIN_JS,
    ),
    Behaviour(
        name="instagram-carousel",
        description="Step through a carousel with its Next button so every slide's image is loaded and recorded.",
        script=CAROUSEL_JS,
    ),
)


@dataclass(frozen=True)
class Instagram(Platform):
    name: str = NAME
    version: int = VERSION
    hosts: tuple[str, ...] = ("instagram.com", "instagr.am")
    behaviours: tuple[Behaviour, ...] = BEHAVIOURS

    def post_selectors(self, url: str) -> list[str]:
        return ["main article", "article", "main[role=main]"]

    def login_wall(self, ev: PageEvidence) -> str | None:
        path = urlsplit(ev.final_url).path
        if path.startswith("/accounts/login"):
            return f"the page redirected to Instagram's login page ({ev.final_url})"
        if path.startswith("/challenge"):
            return f"Instagram asked for a check (challenge) instead of the post ({ev.final_url})"
        code = shortcode(ev.final_url) or shortcode(ev.url)
        if find_item(ev, code[1] if code else None) is not None:
            return None
        if ev.select(LOGIN_FORM) and ev.first("main h1, article h1") is None:
            return "Instagram shows its login form and no post"
        return None

    def extract(self, ev: PageEvidence) -> Post | None:
        code = shortcode(ev.final_url) or shortcode(ev.url)
        if code is None:
            return None
        found = find_item(ev, code[1])
        if found is not None:
            return from_item(ev, found, code[0], code[1])
        return from_page(ev, code[0], code[1])


PLATFORM = Instagram()
