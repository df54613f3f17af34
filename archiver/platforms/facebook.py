"""Facebook: a post (/<page>/posts/<id|pfbid…>, /permalink.php?story_fbid=…, /story.php,
/groups/<g>/posts/<id>, /share/p/…), and what can be read of /photo?fbid=, /watch/?v=,
/reel/<id>, /<page>/videos/<id>.

Read from the Relay data the page carries in <script type="application/json" data-sjs>
blobs (RelayPrefetchedStreamCache results) and recorded /api/graphql/ responses: the
`Story` node (`comet_sections`, `message{text,ranges}`, `actors`, `creation_time`,
`attachments` with Photo/Video media, feedback counts `i18n_reaction_count`, ...), or a
`Video` node for video pages. The DOM (div[data-ad-preview="message"], h2/h3 strong a,
abbr[data-utime], "All reactions:", "N comments", "N shares") and OpenGraph fill what the
JSON lacks. See docs/platforms/facebook.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lxml.html import HtmlElement

from ..capture.behaviours.dialogs import login_dialog_script
from ..capture.behaviours.runner import Behaviour
from .base import Platform, count, parse_time, text_and_links
from .evidence import PageEvidence
from .models import (
    Author, Count, Extraction, Link, LinkKind, Media, MediaType, Post, Relations, Source, SourceKind,
)

NAME = "facebook"
VERSION = 1
BASE = "https://www.facebook.com"
SJS = 'script[type="application/json"][data-sjs]'
API = r"facebook\.com(:\d+)?/api/graphql/?"
MESSAGE_CSS = '[data-ad-comet-preview="message"], [data-ad-preview="message"]'
ARTICLE_CSS = 'div[role="article"]'
# subtrees that belong to another post (a shared one) or to the comments
FOREIGN = frozenset({"attached_story", "comment_list_renderer", "comments", "top_level_comments", "interesting_top_level_comments"})
PHOTO_KEYS = ("photo_image", "viewer_image", "full_image", "image", "large_share_image", "preferred_image")
VIDEO_KEYS = ("browser_native_hd_url", "playable_url_quality_hd", "browser_native_sd_url", "playable_url")
MENTION_TYPES = {"User", "Page", "Group", "Event"}
DOM_COUNTS = (
    ("reactions", re.compile(r"All reactions:?\s*([\d.,]+\s*[KkMm]?)")),
    ("comments", re.compile(r"([\d.,]+\s*[KkMm]?)\s+comments?\b")),
    ("shares", re.compile(r"([\d.,]+\s*[KkMm]?)\s+shares?\b")),
)
NOT_PROFILES = frozenset({"photo", "photo.php", "watch", "reel", "events", "groups", "hashtag", "l.php", "share", "story.php", "permalink.php", "login", "marketplace", "gaming"})
LOGIN_TEXT = re.compile(r"You must log in to continue|Log in to continue|Log into Facebook", re.I)


# -- where the post is -------------------------------------------------------------------


def post_ref(url: str) -> str | None:
    """The post (or photo/video) id the URL names: numeric or pfbid…, or None."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    for key in ("story_fbid", "fbid", "v"):
        if query.get(key):
            return query[key][0]
    m = re.search(r"/(?:posts|permalink|videos|reel|reels)/(?:[^/]+/)?(pfbid\w+|\d+)", parts.path)
    return m.group(1) if m else None


def _walk(node: Any, skip: frozenset[str] = FOREIGN, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every dict under `node`, depth first, not entering keys in `skip`."""
    if depth > 80:
        return
    if isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key not in skip:
                yield from _walk(value, skip, depth + 1)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value, skip, depth + 1)


def _first(node: Any, key: str, want: type | tuple[type, ...] = object) -> Any:
    for d in _walk(node):
        value = d.get(key)
        if value is not None and isinstance(value, want) and value not in ("", [], {}):
            return value
    return None


def _blobs(ev: PageEvidence) -> Iterator[tuple[SourceKind, str, Any]]:
    """Relay data of the page: the data-sjs blobs, then recorded /api/graphql/ responses
    (which may be several JSON documents, one a line)."""
    for index, script in enumerate(ev.select(SJS)):
        text = script.text or ""
        if '"__typename"' not in text:
            continue
        try:
            yield SourceKind.EMBEDDED_JSON, f"{SJS} (#{index + 1} on the page)", json.loads(text)
        except ValueError:
            continue
    for response in ev.responses(API):
        if not 200 <= response.status < 300:
            continue
        text = response.body.decode("utf-8", "replace").removeprefix("for (;;);")
        for line in text.splitlines():
            try:
                yield SourceKind.API_JSON, response.url, json.loads(line)
            except ValueError:
                continue


@dataclass
class Found:
    node: dict[str, Any]
    kind: SourceKind
    locator: str


def _story_matches(story: dict[str, Any], ref: str | None) -> bool:
    if ref is None:
        return True
    ids = {str(story.get(k)) for k in ("post_id", "id", "legacy_story_hideable_id") if story.get(k)}
    urls = [u for u in (story.get("url"), story.get("wwwURL"), story.get("permalink_url")) if isinstance(u, str)]
    meta_url = _first(story.get("comet_sections") or {}, "url", str)
    return ref in ids or any(ref in u for u in urls + ([meta_url] if meta_url else []))


def find_story(ev: PageEvidence, ref: str | None) -> Found | None:
    """The Story node of the post the URL names (else the first top-level story)."""
    first: Found | None = None
    for kind, locator, blob in _blobs(ev):
        for node in _walk(blob):
            if node.get("__typename") != "Story" or "comet_sections" not in node:
                continue
            if _story_matches(node, ref):
                return Found(node, kind, locator)
            first = first or Found(node, kind, locator)
    return first  # a single-post page carries one top-level story


def find_video(ev: PageEvidence, ref: str | None) -> Found | None:
    """A Video node (watch/reel/videos pages) with its playable URLs."""
    for kind, locator, blob in _blobs(ev):
        for node in _walk(blob):
            if node.get("__typename") == "Video" and any(node.get(k) for k in VIDEO_KEYS):
                if ref is None or str(node.get("id")) == ref or str(node.get("videoId")) == ref:
                    return Found(node, kind, locator)
    return None


# -- reading JSON ------------------------------------------------------------------------


def _utf16_slice(text: str, offset: int, length: int) -> str:
    raw = text.encode("utf-16-le")
    return raw[2 * offset : 2 * (offset + length)].decode("utf-16-le", "replace")


def unwrap(url: str | None) -> str | None:
    """l.facebook.com/l.php?u=<target> -> target."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.path == "/l.php" and (parts.hostname or "").startswith(("l.", "lm.")):
        target = parse_qs(parts.query).get("u")
        if target:
            return target[0]
    return url


TRACKING = re.compile(r"[?&](__cft__\[\d+\]|__tn__|__eep__|__xts__\[\d+\]|fbclid)=[^&#]*")


def dom_link(link: Link) -> Link:
    """A link of the DOM as the post means it: l.php unwrapped, Facebook's per-viewer tracking
    parameters (__cft__, __tn__, fbclid, ...) dropped, profile/page links read as mentions."""
    url = unwrap(link.url)
    if url and TRACKING.search(url):
        url = TRACKING.sub("", url)
        url = url if "?" in url or "&" not in url else url.replace("&", "?", 1)
    kind = link.kind
    parts = urlsplit(url or "")
    segment = parts.path.strip("/")
    profile = segment == "profile.php" or (bool(segment) and "/" not in segment and segment not in NOT_PROFILES)
    if kind is LinkKind.LINK and (parts.hostname or "").endswith("facebook.com") and profile:
        kind = LinkKind.MENTION
    return Link(kind=kind, text=link.text, url=url)


def message_links(message: dict[str, Any]) -> list[Link]:
    text = message.get("text") or ""
    links = []
    ranges = [r for r in message.get("ranges") or [] if isinstance(r, dict) and isinstance(r.get("entity"), dict)]
    for r in sorted(ranges, key=lambda r: r.get("offset") or 0):
        entity = r["entity"]
        shown = _utf16_slice(text, int(r.get("offset") or 0), int(r.get("length") or 0))
        typename = entity.get("__typename") or ""
        url = entity.get("external_url") or unwrap(entity.get("url")) or entity.get("profile_url")
        if typename == "Hashtag" or shown.startswith("#"):
            kind = LinkKind.HASHTAG
        elif typename in MENTION_TYPES:
            kind = LinkKind.MENTION
        else:
            kind = LinkKind.LINK
        links.append(Link(kind=kind, text=shown, url=url))
    return links


def _image(node: dict[str, Any]) -> dict[str, Any] | None:
    found = [node[k] for k in PHOTO_KEYS if isinstance(node.get(k), dict) and node[k].get("uri")]
    return max(found, key=lambda i: (i.get("width") or 0) * (i.get("height") or 0), default=None)


def _one_media(node: dict[str, Any]) -> Media | None:
    alt = node.get("accessibility_caption") or None
    if node.get("__typename") == "Video":
        url = next((node[k] for k in VIDEO_KEYS if node.get(k)), None)
        if not url:
            return None
        thumb = (((node.get("preferred_thumbnail") or {}).get("image")) or node.get("thumbnailImage") or {}).get("uri")
        still = _image(node)
        return Media(
            type=MediaType.VIDEO, url=url, alt=alt,
            width=node.get("width") or node.get("original_width"), height=node.get("height") or node.get("original_height"),
            poster_url=thumb or (still or {}).get("uri"),
        )
    image = _image(node)
    if image is None:
        return None
    return Media(type=MediaType.IMAGE, url=image["uri"], alt=alt, width=image.get("width"), height=image.get("height"))


def story_media(story: dict[str, Any]) -> list[Media]:
    """Photos and videos of the story's attachments, in order, each once."""
    attachments = _first(story, "attachments", list) or []
    out: list[Media] = []
    seen: set[str] = set()
    for node in _walk(attachments):
        if node.get("__typename") not in ("Photo", "Video") or not node.get("id"):
            continue
        if str(node["id"]) in seen:
            continue
        media = _one_media(node)
        if media is not None:
            seen.add(str(node["id"]))
            out.append(media)
    return out


def _actor(story: dict[str, Any]) -> dict[str, Any]:
    actors = _first(story, "actors", list) or []
    actor = next((a for a in actors if isinstance(a, dict) and a.get("name")), None)
    return actor or (_first(story, "owner", dict) or {})


def _author(actor: dict[str, Any], story: dict[str, Any]) -> Author:
    url = actor.get("url") or actor.get("profile_url")
    handle = None
    if url:
        path = urlsplit(url).path.strip("/")
        if path and "/" not in path and not path.endswith(".php"):
            handle = path  # the vanity name in the profile URL
    picture = (actor.get("profile_picture") or {}).get("uri")
    if not picture:  # the actor photo section carries it for the same actor
        for d in _walk(story):
            if d.get("id") == actor.get("id") and isinstance(d.get("profile_picture"), dict):
                picture = d["profile_picture"].get("uri")
                if picture:
                    break
    verified = actor.get("is_verified")
    return Author(
        display_name=actor.get("name") or None,
        handle=handle,
        url=url or None,
        id=str(actor["id"]) if actor.get("id") else None,
        avatar_url=picture or None,
        verified=bool(verified) if isinstance(verified, bool) else None,
    )


def _story_url(story: dict[str, Any]) -> str | None:
    for d in _walk(story):
        if isinstance(d.get("url"), str) and ("creation_time" in d or d is story) and re.search(r"/(posts|permalink|videos|reel|photo|story)", d["url"]):
            return d["url"]
    for key in ("wwwURL", "permalink_url"):
        if isinstance(story.get(key), str):
            return story[key]
    return None


def json_counts(story: dict[str, Any]) -> dict[str, str]:
    """count name -> displayed text from the feedback JSON (i18n strings first)."""
    out: dict[str, str] = {}
    reactions = _first(story, "i18n_reaction_count", str) or _first(story, "reaction_count", dict)
    if isinstance(reactions, dict) and isinstance(reactions.get("count"), int):
        reactions = str(reactions["count"])
    if isinstance(reactions, str):
        out["reactions"] = reactions
    comments = _first(story, "comment_rendering_instance", dict)
    total = ((comments or {}).get("comments") or {}).get("total_count")
    total = total if isinstance(total, int) else _first(story, "total_comment_count", int)
    if isinstance(total, int):
        out["comments"] = str(total)
    shares = _first(story, "i18n_share_count", str) or _first(story, "share_count", dict)
    if isinstance(shares, dict) and isinstance(shares.get("count"), int):
        shares = str(shares["count"])
    if isinstance(shares, str):
        out["shares"] = shares
    return out


# -- reading the DOM ---------------------------------------------------------------------


def _post_element(ev: PageEvidence) -> HtmlElement | None:
    message = ev.first(MESSAGE_CSS)
    if message is not None:
        for anc in message.iterancestors():
            if anc.get("role") == "article" and not (anc.get("aria-label") or "").startswith("Comment"):
                return anc
    for el in ev.select(ARTICLE_CSS):
        if not (el.get("aria-label") or "").startswith("Comment"):
            return el
    return None


def dom_counts(el: HtmlElement | None) -> dict[str, str]:
    if el is None:
        return {}
    # the counts bar of the post, not those of its comments
    parts = []
    for node in el.iter():
        if not isinstance(node.tag, str):
            continue
        if node.get("role") == "article" and node is not el:
            break
        if node.text:
            parts.append(node.text)
        if node.tail:
            parts.append(node.tail)
    text = re.sub(r"\s+", " ", " ".join(parts))
    out = {}
    for name, rx in DOM_COUNTS:
        m = rx.search(text)
        if m:
            out[name] = m.group(1).strip()
    return out


def _dom_author(el: HtmlElement | None, ev: PageEvidence) -> tuple[Author, str] | None:
    if el is None:
        return None
    for css in ("h2 strong a", "h3 strong a", "h2 a strong", "h3 a strong", "h2 a", "h3 a"):
        a = ev.first(css, el)
        if a is not None:
            link = a if a.tag == "a" else next((x for x in a.iterancestors("a")), None)
            href = ev.absolute(link.get("href")) if link is not None else None
            url = href.split("?")[0] if href else None
            path = urlsplit(url).path.strip("/") if url else ""
            return Author(
                display_name=a.text_content().strip() or None,
                handle=path if path and "/" not in path and not path.endswith(".php") else None,
                url=url,
            ), css
    return None


def _merge_counts(from_json: dict[str, str], from_dom: dict[str, str]) -> tuple[list[Count], list[str], list[str]]:
    counts, json_fields, dom_fields = [], [], []
    for name in ("reactions", "comments", "shares"):
        shown = None
        if name in from_json and not (name in from_dom and from_json[name].isdigit()):
            shown = from_json[name]
            json_fields.append(f"counts.{name}")
        elif name in from_dom:  # the page's "1.2K comments" before a bare number in the JSON
            shown = from_dom[name]
            dom_fields.append(f"counts.{name}")
        c = count(name, shown)
        if c is not None:
            counts.append(c)
    return counts, json_fields, dom_fields


def from_story(ev: PageEvidence, found: Found, ref: str | None) -> Post:
    story = found.node
    content = (story.get("comet_sections") or {}).get("content") or story
    message = _first(content, "message", dict) or story.get("message") or {}
    if not isinstance(message.get("text"), str):
        message = next((d["message"] for d in _walk(story) if isinstance(d.get("message"), dict) and isinstance(d["message"].get("text"), str)), {})
    text = message.get("text") or None
    raw_time = _first(story, "creation_time", int) or _first(story, "publish_time", int)
    url = _story_url(story) or ev.meta("og:url") or ev.final_url
    el = _post_element(ev)
    counts, json_fields, dom_fields = _merge_counts(json_counts(story), dom_counts(el))
    attached = story.get("attached_story") or _first((story.get("comet_sections") or {}), "attached_story", dict)
    relations = Relations()
    if isinstance(attached, dict):
        shared = _story_url(attached)
        relations = Relations(quote_of=shared) if text else Relations(repost_of=shared)
    sources = [Source(kind=found.kind, locator=found.locator + " Story", fields=[
        "id", "url", "author", "published", "text", "links", "media", *(["relations"] if isinstance(attached, dict) else []), *json_fields])]
    if dom_fields:
        sources.append(Source(kind=SourceKind.DOM, locator=f"{ARTICLE_CSS} (counts bar)", fields=dom_fields))
    return Post(
        platform=NAME,
        id=str(story.get("post_id") or ref or "") or None,
        url=url,
        author=_author(_actor(story), story),
        published=parse_time(raw_time),
        published_raw=str(raw_time) if raw_time else None,
        text=text,
        links=message_links(message) if text else [],
        media=story_media(story),
        counts=counts,
        relations=relations,
        sources=sources,
        extraction=Extraction(extractor=NAME, version=VERSION),
    )


def from_video(ev: PageEvidence, found: Found, ref: str | None) -> Post:
    video = found.node
    creation = video.get("creation_story") if isinstance(video.get("creation_story"), dict) else {}
    message = _first(creation, "message", dict) or {}
    owner = video.get("owner") if isinstance(video.get("owner"), dict) else _actor(creation)
    raw_time = video.get("publish_time") or video.get("creation_time") or _first(creation, "creation_time", int)
    media = _one_media(video)
    title = (video.get("title") or {}).get("text") if isinstance(video.get("title"), dict) else None
    vid = str(video.get("id") or ref)
    return Post(
        platform=NAME,
        id=vid,
        url=video.get("permalink_url") or ev.meta("og:url") or ev.final_url,
        author=_author(owner, creation),
        published=parse_time(raw_time),
        published_raw=str(raw_time) if raw_time else None,
        title=title or None,
        text=message.get("text") or None,
        links=message_links(message) if message.get("text") else [],
        media=[media] if media else [],
        counts=[],
        sources=[Source(kind=found.kind, locator=found.locator + " Video", fields=["id", "url", "author", "published", "title", "text", "links", "media"])],
        extraction=Extraction(extractor=NAME, version=VERSION),
    )


def from_dom(ev: PageEvidence, ref: str | None) -> Post | None:
    el = _post_element(ev)
    message = ev.first(MESSAGE_CSS)
    if message is None and el is None:
        return None
    sources = [Source(kind=SourceKind.URL, locator=ev.final_url, fields=["id"])]
    text, links = text_and_links(message, ev) if message is not None else ("", [])
    links = [dom_link(link) for link in links]
    if text:
        sources.append(Source(kind=SourceKind.DOM, locator=MESSAGE_CSS, fields=["text", "links"]))
    author = _dom_author(el, ev)
    if author:
        sources.append(Source(kind=SourceKind.DOM, locator=author[1], fields=["author"]))
    utime = ev.first("abbr[data-utime]", el) if el is not None else None
    raw = utime.get("data-utime") if utime is not None else None
    if raw:
        sources.append(Source(kind=SourceKind.DOM, locator="abbr[data-utime]", fields=["published"]))
    counts, _j, dom_fields = _merge_counts({}, dom_counts(el))
    if dom_fields:
        sources.append(Source(kind=SourceKind.DOM, locator=f"{ARTICLE_CSS} (counts bar)", fields=dom_fields))
    if not text and not author:
        return None
    return Post(
        platform=NAME,
        id=ref,
        url=ev.meta("og:url") or ev.final_url,
        author=author[0] if author else Author(),
        published=parse_time(raw),
        published_raw=raw,
        text=text or None,
        links=links,
        counts=counts,
        sources=sources,
        extraction=Extraction(extractor=NAME, version=VERSION),
    )


# -- behaviours ----------------------------------------------------------------------------

CLOSE_LOGIN_JS = login_dialog_script(
    words="log in|sign up|see more on facebook|masuk|daftar",
    close='[aria-label="Close"][role="button"], [aria-label="Close"], [aria-label="Tutup"]',
    password=True,
)

SEE_MORE_JS = r"""async (args) => {
  const actions = [];
  const words = /^(see more|lihat selengkapnya|ver más|voir plus|mehr ansehen|mostra altro|ver mais)$/i;
  const boxes = document.querySelectorAll('[data-ad-comet-preview="message"], [data-ad-preview="message"], div[role="article"] div[dir="auto"]');
  let clicked = 0;
  for (const box of boxes) {
    for (const b of box.querySelectorAll('div[role="button"], span[role="button"]')) {
      if (!words.test((b.innerText || '').trim()) || !b.getClientRects().length) continue;
      b.click();
      clicked++;
      if (clicked >= 10) break;
    }
    if (clicked >= 10) break;
  }
  if (clicked) {
    await new Promise((r) => setTimeout(r, 300));
    actions.push(`expanded ${clicked} truncated text(s) ('See more' div[role=button])`);
  }
  return {actions, more: clicked > 0};
}"""

BEHAVIOURS = (
    Behaviour(
        name="facebook-login-dialog",
        description="Close the 'See more on Facebook' login dialog laid over public posts (aria-label=Close).",
        script=CLOSE_LOGIN_JS,
    ),
    Behaviour(
        name="facebook-see-more",
        description="Click 'See more' in the post text so the DOM snapshot and screenshot show it whole.",
        script=SEE_MORE_JS,
        rounds=2,
        pause=0.3,
    ),
)


@dataclass(frozen=True)
class Facebook(Platform):
    name: str = NAME
    version: int = VERSION
    hosts: tuple[str, ...] = ("facebook.com", "fb.com", "fb.watch")
    behaviours: tuple[Behaviour, ...] = BEHAVIOURS

    def post_selectors(self, url: str) -> list[str]:
        return [
            'div[role="main"] div[role="article"]:not([aria-label^="Comment"])',
            'div[role="article"]:not([aria-label^="Comment"])',
            'div[role="main"]',
        ]

    def login_wall(self, ev: PageEvidence) -> str | None:
        path = urlsplit(ev.final_url).path
        if re.match(r"^/(login|login\.php|checkpoint)(/|$)", path):
            return f"the page redirected to Facebook's login page ({ev.final_url})"
        ref = post_ref(ev.final_url) or post_ref(ev.url)
        if find_story(ev, ref) is not None or find_video(ev, ref) is not None or ev.first(MESSAGE_CSS) is not None:
            return None
        form = ev.first("form#login_form, input[name=pass]")
        if form is not None:
            body = ev.first("body")
            heading = next((t for t in body.itertext() if LOGIN_TEXT.search(t)), None) if body is not None else None
            said = f" ('{heading.strip()}')" if heading else ""
            return f"Facebook shows its login form{said} and no post"
        return None

    def extract(self, ev: PageEvidence) -> Post | None:
        ref = post_ref(ev.final_url) or post_ref(ev.url)
        found = find_story(ev, ref)
        if found is not None:
            return from_story(ev, found, ref)
        video = find_video(ev, ref)
        if video is not None:
            return from_video(ev, video, ref)
        return from_dom(ev, ref)


PLATFORM = Facebook()
