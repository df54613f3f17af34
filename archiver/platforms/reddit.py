"""Reddit: www/old/new.reddit.com/r/<sub>/comments/<id>/<slug>/ and redd.it/<id>.
Documented in docs/platforms/reddit.md.

Readers, best first per field: the post's own listing JSON (`<permalink>.json`, recorded when
the `reddit-post-json` behaviour asked for it from inside the page, or when the capture URL
was the .json), the server-rendered <shreddit-post> element of new Reddit (attributes and
slots of its light DOM), and old Reddit's div.thing.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from lxml.html import HtmlElement

from ..capture.behaviours.runner import Behaviour
from .base import Platform, clean, count, parse_time, text_and_links
from .evidence import PageEvidence
from .models import Author, Count, Extraction, Link, LinkKind, Media, MediaType, Post, Relations, Source, SourceKind

NAME = "reddit"
VERSION = 1
WWW = "https://www.reddit.com"

POST_PATH = re.compile(r"^(?:/r/(?P<sub>[^/]+))?/comments/(?P<id>[a-z0-9]+)(?:/|\.json|$)", re.I)
SHORT_HOST = "redd.it"
NSFW_GATES = "xpromo-nsfw-blocking-modal, xpromo-nsfw-blocking-container, shreddit-async-loader[bundlename*=nsfw_blocking]"
LOGIN_WORDS = re.compile(r"log ?in to continue|log in to view|you must be 18\+", re.I)

POST_JSON_JS = r"""async (args) => {
  const actions = [];
  if (/\.json$/.test(location.pathname)) return {actions, more: false};
  const m = location.pathname.match(/^(\/r\/[^/]+)?\/comments\/([a-z0-9]+)/i);
  if (!m) return {actions, more: false};
  const post = document.querySelector(`shreddit-post#t3_${m[2]}, shreddit-post`);
  let path = (post && post.getAttribute('permalink')) || location.pathname;
  path = path.replace(/\/+$/, '') + '.json?raw_json=1';
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), 4000);
  try {
    const r = await fetch(path, {credentials: 'include', signal: ctrl.signal, headers: {Accept: 'application/json'}});
    await r.text();
    actions.push(r.ok
      ? `fetched the post's listing JSON (${path}, HTTP ${r.status}) so its data and video fallback URL are recorded`
      : `asked for the post's listing JSON (${path}): HTTP ${r.status}, nothing to read from it`);
  } catch (e) {
    actions.push(`the post's listing JSON (${path}) could not be fetched: ${String(e).slice(0, 100)}`);
  } finally { clearTimeout(timer); }
  return {actions, more: false};
}"""

EXPAND_JS = r"""async (args) => {
  const actions = [];
  const label = (el) => (el.innerText || el.getAttribute('aria-label') || '').trim().replace(/\s+/g, ' ').slice(0, 40);
  // the post's own text, cut by a "Read more" button
  for (const b of document.querySelectorAll('shreddit-post [id$="-read-more-button"], shreddit-post button[slot="read-more-button"]')) {
    try { b.click(); actions.push(`expanded the post text ('${label(b)}', #${b.id || 'read-more-button'})`); } catch (e) { /* detached */ }
  }
  let loaded = 0;
  if (args.comments && args.round <= Math.max(1, args.threadDepth)) {
    for (const p of document.querySelectorAll('shreddit-comment-tree faceplate-partial[loading="action"], shreddit-comment faceplate-partial[loading="action"]')) {
      const b = p.querySelector('[slot="trigger"], button');
      if (!b || b.disabled || !/more (comments|replies|reply)|view more|\d+ more/i.test(label(b))) continue;
      try { b.click(); loaded++; actions.push(`loaded more comments ('${label(b)}', faceplate-partial)`); } catch (e) { /* detached */ }
      if (loaded >= 5) break;
    }
  }
  return {actions, more: loaded > 0 && args.round < Math.max(1, args.threadDepth)};
}"""

POST_JSON = Behaviour(
    name="reddit-post-json",
    description="fetch the post's own listing JSON (<permalink>.json) from inside the page, so its data and the video's fallback MP4 URL are recorded",
    script=POST_JSON_JS,
    rounds=1,
)
EXPAND = Behaviour(
    name="reddit-expand",
    description="click 'Read more' on the post text; when comments are on, load more comments ('View more comments') for threadDepth rounds",
    script=EXPAND_JS,
    rounds=3,
    pause=0.5,
)


def post_id(url: str) -> str | None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host == SHORT_HOST or host.endswith("." + SHORT_HOST):
        m = re.match(r"^/([a-z0-9]+)/?$", parts.path, re.I)
        return m.group(1).lower() if m else None
    m = POST_PATH.match(parts.path)
    return m.group("id").lower() if m else None


# -- one field at a time, from the best reader that has it ---------------------------------


@dataclass
class Reading:
    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[tuple[SourceKind, str], list[str]] = field(default_factory=dict)

    def put(self, name: str, value: Any, kind: SourceKind, locator: str) -> None:
        if name in self.values or value in (None, "", []):
            return
        self.values[name] = value
        self.sources.setdefault((kind, locator), []).append(name.split(".")[0])

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def source_list(self) -> list[Source]:
        out = []
        for (kind, locator), names in self.sources.items():
            out.append(Source(kind=kind, locator=locator, fields=list(dict.fromkeys(names))))
        return out


def _kind(link: Link) -> Link:
    """u/name links are mentions; Reddit has no hashtags."""
    text, url = link.text, link.url or ""
    if re.match(r"^/?u/[\w-]+$", text) or re.search(r"reddit\.com/u(ser)?/[\w-]+/?$", url):
        return link.model_copy(update={"kind": LinkKind.MENTION})
    return link.model_copy(update={"kind": LinkKind.LINK})


def shown_text(el: HtmlElement, ev: PageEvidence) -> tuple[str, list[Link]]:
    """Text and links as shown; HTML comments (<!-- SC_OFF -->, Lit's <!--?-->) are no text."""
    el = copy.deepcopy(el)
    for node in el.xpath(".//comment()"):
        node.drop_tree()
    text, links = text_and_links(el, ev)
    return text, [_kind(link) for link in links]


def _www(href: str | None) -> str | None:
    """Reddit's links as the www site names them (old.reddit/np hosts, relative paths)."""
    if not href:
        return None
    parts = urlsplit(href)
    if not parts.netloc:
        return WWW + (href if href.startswith("/") else "/" + href)
    if (parts.hostname or "").endswith("reddit.com"):
        return WWW + parts.path + (f"?{parts.query}" if parts.query else "")
    return href


def _json_links(links: list[Link]) -> list[Link]:
    return [link.model_copy(update={"url": _www(link.url)}) for link in links]


# -- the listing JSON -----------------------------------------------------------------------


def listing_post(ev: PageEvidence, pid: str | None) -> tuple[dict[str, Any], str] | None:
    pattern = rf"/comments/{pid}(?:/[^/?]*)?/?\.json" if pid else r"/comments/[a-z0-9]+(?:/[^/?]*)?/?\.json"
    for url, data in ev.api_json(pattern):
        first = data[0] if isinstance(data, list) and data else data
        children = ((first or {}).get("data") or {}).get("children") if isinstance(first, dict) else None
        for child in children or []:
            post = child.get("data") if isinstance(child, dict) and child.get("kind") == "t3" else None
            if isinstance(post, dict) and (pid is None or post.get("id") == pid):
                return post, url
    return None


def json_media(post: dict[str, Any]) -> list[Media]:
    video = ((post.get("secure_media") or post.get("media") or {}) or {}).get("reddit_video")
    preview = ((post.get("preview") or {}).get("images") or [{}])[0].get("source") or {}
    if isinstance(video, dict) and video.get("fallback_url"):
        kind = MediaType.GIF if video.get("is_gif") else MediaType.VIDEO
        return [Media(type=kind, url=video["fallback_url"], width=video.get("width"), height=video.get("height"), poster_url=preview.get("url"))]
    if post.get("is_gallery") and isinstance(post.get("media_metadata"), dict):
        out = []
        items = ((post.get("gallery_data") or {}).get("items")) or [{"media_id": k} for k in post["media_metadata"]]
        for item in items:
            meta = post["media_metadata"].get(item.get("media_id")) or {}
            best = meta.get("s") or {}
            url = best.get("u") or best.get("gif")
            if url:
                out.append(Media(type=MediaType.IMAGE, url=url, alt=clean(item.get("caption")), width=best.get("x"), height=best.get("y")))
        return out
    if post.get("post_hint") == "image" and post.get("url"):
        return [Media(type=MediaType.IMAGE, url=post["url"], width=preview.get("width"), height=preview.get("height"))]
    return []


def read_json(r: Reading, ev: PageEvidence, post: dict[str, Any], url: str) -> None:
    k = SourceKind.API_JSON
    r.put("id", post.get("id"), k, url)
    r.put("url", _www(post.get("permalink")), k, url)
    r.put("title", clean(post.get("title")), k, url)
    author = post.get("author")
    if author and author != "[deleted]":
        r.put("author.display_name", author, k, url)
        r.put("author.handle", f"u/{author}", k, url)
        r.put("author.url", f"{WWW}/user/{author}/", k, url)
    r.put("author.id", post.get("author_fullname"), k, url)
    created = post.get("created_utc")
    r.put("published", parse_time(created), k, url)
    r.put("published_raw", str(created) if created is not None else None, k, url)
    r.put("media", json_media(post), k, url)
    if post.get("selftext_html"):
        root = lxml.html.fragment_fromstring(post["selftext_html"], create_parent="div")
        text, links = shown_text(root, ev)
        r.put("text", text, k, url)
        r.put("links", _json_links(links), k, url)
    parents = post.get("crosspost_parent_list") or []
    if parents and isinstance(parents[0], dict):
        r.put("relations.repost_of", _www(parents[0].get("permalink")), k, url)
    counts = [c for c in (count("score", _num(post.get("score"))), count("comments", _num(post.get("num_comments")))) if c]
    r.put("counts", counts, k, url)


def _num(value: Any) -> str | None:
    return str(value) if isinstance(value, int) else None


# -- new Reddit: <shreddit-post> -----------------------------------------------------------


def read_shreddit(r: Reading, ev: PageEvidence, el: HtmlElement) -> None:
    k, loc = SourceKind.DOM, "shreddit-post"
    thing = el.get("id") or ""
    r.put("id", thing[3:] if thing.startswith("t3_") else None, k, loc)
    r.put("url", _www(el.get("permalink")), k, loc)
    r.put("title", clean(el.get("post-title")), k, loc)
    author = el.get("author")
    if author and author != "[deleted]":
        r.put("author.display_name", author, k, loc)
        r.put("author.handle", f"u/{author}", k, loc)
        r.put("author.url", f"{WWW}/user/{author}/", k, loc)
    r.put("author.id", el.get("author-id"), k, loc)
    raw = el.get("created-timestamp")
    r.put("published", parse_time(raw), k, loc)
    r.put("published_raw", raw, k, loc)
    r.put("language", el.get("post-language"), k, loc)
    counts = [c for c in (count("score", el.get("score")), count("comments", el.get("comment-count"))) if c]
    r.put("counts", counts, k, loc)
    body = ev.first('[slot="text-body"] [id$="-post-rtjson-content"], [slot="text-body"] .md', el)
    if body is not None:
        text, links = shown_text(body, ev)
        body_loc = 'shreddit-post [slot="text-body"]'
        r.put("text", text, k, body_loc)
        r.put("links", [link.model_copy(update={"url": _www(link.url)}) for link in links], k, body_loc)
    r.put("media", shreddit_media(ev, el), k, 'shreddit-post [slot="post-media-container"]')
    if el.get("post-type") == "link" and el.get("content-href"):
        href = el.get("content-href")
        r.put("links", [Link(kind=LinkKind.LINK, text=el.get("domain") or href, url=href)], k, loc)


def shreddit_media(ev: PageEvidence, el: HtmlElement) -> list[Media]:
    for player in ev.select("shreddit-player-2, shreddit-player", el):
        src = player.get("src")
        if src:
            return [Media(type=MediaType.VIDEO, url=ev.absolute(src) or src, poster_url=ev.absolute(player.get("poster")))]
    if el.get("post-type") == "image" and el.get("content-href"):
        img = ev.first('img#post-image, [slot="post-media-container"] img', el)
        return [Media(type=MediaType.IMAGE, url=el.get("content-href") or "", alt=clean(img.get("alt")) if img is not None else None)]
    out = []
    for img in ev.select("gallery-carousel img[src]", el):
        out.append(Media(type=MediaType.IMAGE, url=ev.absolute(img.get("src")) or "", alt=clean(img.get("alt"))))
    return out


# -- old Reddit: div.thing -----------------------------------------------------------------


def read_old(r: Reading, ev: PageEvidence, el: HtmlElement) -> None:
    k, loc = SourceKind.DOM, "div.thing[data-fullname^=t3_]"
    fullname = el.get("data-fullname") or ""
    r.put("id", fullname[3:] if fullname.startswith("t3_") else None, k, loc)
    r.put("url", _www(el.get("data-permalink")), k, loc)
    title = ev.first("a.title", el)
    r.put("title", clean(title.text_content()) if title is not None else None, k, "div.thing a.title")
    author = el.get("data-author")
    if author and author != "[deleted]":
        r.put("author.display_name", author, k, loc)
        r.put("author.handle", f"u/{author}", k, loc)
        r.put("author.url", f"{WWW}/user/{author}/", k, loc)
    r.put("author.id", el.get("data-author-fullname"), k, loc)
    stamp = ev.first(".tagline time.live-timestamp[datetime]", el)
    if stamp is not None:
        r.put("published", parse_time(stamp.get("datetime")), k, "div.thing .tagline time.live-timestamp")
        r.put("published_raw", stamp.get("datetime"), k, "div.thing .tagline time.live-timestamp")
    score = ev.first(".midcol .score.unvoted", el)
    comments = ev.first("a.comments", el)
    shown = re.match(r"\s*([\d.,]+\s*[kKmM]?)", comments.text_content()) if comments is not None else None
    counts = [c for c in (count("score", clean(score.text_content()) if score is not None else None), count("comments", shown.group(1) if shown else None)) if c]
    r.put("counts", counts, k, "div.thing .midcol .score.unvoted, div.thing a.comments")
    body = ev.first(".expando .usertext-body .md", el)
    if body is not None:
        text, links = shown_text(body, ev)
        r.put("text", text, k, "div.thing .expando .usertext-body .md")
        r.put("links", [link.model_copy(update={"url": _www(link.url)}) for link in links], k, "div.thing .expando .usertext-body .md")
    player = ev.first(".reddit-video-player-root[data-hls-url]", el)
    if player is not None:
        media = [Media(type=MediaType.VIDEO, url=player.get("data-hls-url") or "", poster_url=player.get("data-poster-url"))]
        r.put("media", media, k, "div.thing .reddit-video-player-root")
    elif re.search(r"\.(jpe?g|png|gif|webp)(\?|$)", el.get("data-url") or "", re.I):
        r.put("media", [Media(type=MediaType.IMAGE, url=el.get("data-url") or "")], k, loc)


# -- the platform -------------------------------------------------------------------------


def build(r: Reading) -> Post:
    return Post(
        platform=NAME,
        id=r.get("id"),
        url=r.get("url"),
        author=Author(
            display_name=r.get("author.display_name"),
            handle=r.get("author.handle"),
            url=r.get("author.url"),
            id=r.get("author.id"),
        ),
        published=r.get("published"),
        published_raw=r.get("published_raw"),
        title=r.get("title"),
        text=r.get("text"),
        links=r.get("links") or [],
        language=r.get("language"),
        media=r.get("media") or [],
        counts=r.get("counts") or [],
        relations=Relations(repost_of=r.get("relations.repost_of")),
        sources=r.source_list(),
        extraction=Extraction(extractor=NAME, version=VERSION),
    )


def _ordered(counts: list[Count]) -> list[Count]:
    return sorted(counts, key=lambda c: {"score": 0, "comments": 1}.get(c.name, 9))


@dataclass(frozen=True)
class Reddit(Platform):
    name: str = NAME
    version: int = VERSION
    hosts: tuple[str, ...] = ("reddit.com", "redd.it")
    behaviours: tuple[Behaviour, ...] = (POST_JSON, EXPAND)

    def post_selectors(self, url: str) -> list[str]:
        pid = post_id(url)
        return [f"shreddit-post#t3_{pid}", f"#thing_t3_{pid}"] if pid else ["shreddit-post", "#siteTable > div.thing.link"]

    def login_wall(self, ev: PageEvidence) -> str | None:
        path = urlsplit(ev.final_url).path
        if path.startswith("/over18"):
            return "old Reddit's 'are you over eighteen' interstitial (/over18)"
        gate = ev.first(NSFW_GATES)
        if gate is not None:
            words = clean(gate.text_content()) or ""
            m = LOGIN_WORDS.search(words)
            return f"mature (18+) content behind a login modal ({gate.tag}: '{m.group(0) if m else 'log in'}')"
        for dialog in ev.select('[role="dialog"]'):
            if LOGIN_WORDS.search(dialog.text_content() or "") and ev.first('[slot="text-body"], shreddit-player-2') is None:
                return "a 'Log in to continue' dialog instead of the post"
        return None

    def extract(self, ev: PageEvidence) -> Post | None:
        pid = post_id(ev.final_url) or post_id(ev.url)
        r = Reading()
        listing = listing_post(ev, pid)
        shreddit = ev.first(f'shreddit-post[id="t3_{pid}"]') if pid else None
        shreddit = shreddit if shreddit is not None else ev.first("shreddit-post")
        old = ev.first(f'div.thing[data-fullname="t3_{pid}"]') if pid else ev.first("div.thing.link[data-fullname]")
        if listing is None and shreddit is None and old is None:
            return None
        # media first from the JSON (the full MP4); what is shown (text, counts, times) from the page
        if listing is not None:
            r.put("media", json_media(listing[0]), SourceKind.API_JSON, listing[1])
        if shreddit is not None:
            read_shreddit(r, ev, shreddit)
        if old is not None:
            read_old(r, ev, old)
        if listing is not None:
            read_json(r, ev, *listing)
        if r.get("url") is None:
            return None
        r.values["counts"] = _ordered(r.get("counts") or [])
        return build(r)


PLATFORM = Reddit()
