"""Threads (by Meta): a post page /@<user>/post/<code> on threads.com (formerly threads.net).

The page arrives server-rendered with its data in <script type="application/json" data-sjs>
blobs (Relay's prefetched query results: ...data.data.edges[].node.thread_items[].post). The
extractor reads the post from those blobs (and from recorded /graphql/query responses), and
the counts as the page displayed them from the post's container
(div[data-pressable-container=true]). Markup and JSON paths relied on: docs/platforms/threads.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lxml.html import HtmlElement

from ..capture.behaviours.runner import Behaviour
from .base import Platform, count, parse_time, text_and_links
from .evidence import PageEvidence
from .models import (
    Author, Count, Extraction, Link, LinkKind, Media, MediaType, Post, Relations, Source, SourceKind,
)

VERSION = 1
DEFAULT_HOST = "www.threads.com"
POST_PATH = re.compile(r"^/@(?P<user>[\w.]+)/post/(?P<code>[\w-]+)", re.I)
SHORT_PATH = re.compile(r"^/t/(?P<code>[\w-]+)", re.I)
SJS = 'script[type="application/json"][data-sjs]'
GRAPHQL = r"/(api/)?graphql(/query)?\b"
CONTAINER = 'div[data-pressable-container="true"]'
LOGIN_PATHS = re.compile(r"^/(login|accounts/login)(/|$)", re.I)
# the action bar's icons (svg aria-label) -> count name
ACTIONS = {"like": "likes", "unlike": "likes", "reply": "replies", "comment": "replies", "repost": "reposts",
           "share": "shares"}
NUMBER = re.compile(r"^\d[\d.,]*\s*[KMB]?$", re.I)

Json = dict[str, Any]


def post_code(url: str) -> str | None:
    path = urlsplit(url).path
    m = POST_PATH.match(path) or SHORT_PATH.match(path)
    return m.group("code") if m else None


def walk(node: Any) -> Iterator[Json]:
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            yield cur
            stack.extend(reversed(list(cur.values())))
        elif isinstance(cur, list):
            stack.extend(reversed(cur))


def is_post(node: Json) -> bool:
    return bool(node.get("code")) and "taken_at" in node and isinstance(node.get("user"), dict)


@dataclass
class Found:
    """A post object and where it was: the evidence's locator, and its thread (the items list)."""

    locator: str
    kind: SourceKind
    post: Json
    thread: list[Json] = field(default_factory=list)


@dataclass
class ThreadsData:
    posts: dict[str, Found] = field(default_factory=dict)  # code -> first (best) place it was found

    def add(self, locator: str, kind: SourceKind, data: Any) -> None:
        for node in walk(data):
            items = node.get("thread_items")
            if isinstance(items, list):
                thread = [i["post"] for i in items if isinstance(i, dict) and isinstance(i.get("post"), dict)]
                for p in thread:
                    if is_post(p):
                        known = self.posts.get(p["code"])
                        if known is None or not known.thread:
                            self.posts[p["code"]] = Found(locator, kind, p, thread)
            elif is_post(node) and node["code"] not in self.posts:
                self.posts[node["code"]] = Found(locator, kind, node)

    @classmethod
    def read(cls, ev: PageEvidence) -> "ThreadsData":
        found = cls()
        for script in ev.select(SJS):
            try:
                data = json.loads(script.text or "")
            except ValueError:
                continue
            found.add(sjs_locator(script.text or ""), SourceKind.EMBEDDED_JSON, data)
        if "threads" in ev.host:
            for url, data in ev.api_json(GRAPHQL):
                found.add(url, SourceKind.API_JSON, data)
        return found


def sjs_locator(text: str) -> str:
    """The blob's selector, with the Relay preloader it carries (the blobs have no ids)."""
    m = re.search(r'"(adp_Barcelona\w*Post\w*)"', text) or re.search(r'"(adp_\w+)"', text)
    return f"{SJS} ({m.group(1)})" if m else SJS


def site(ev: PageEvidence) -> str:
    """The host the page names itself by (canonical / og:url), for the post's canonical URL."""
    for url in (ev.link_rel("canonical"), ev.meta("og:url")):
        host = (urlsplit(url or "").hostname or "").lower()
        if host.endswith(("threads.com", "threads.net")):
            return host
    return DEFAULT_HOST


def post_url(host: str, username: str, code: str) -> str:
    return f"https://{host}/@{username}/post/{code}"


def unwrap_link(uri: str) -> str:
    """l.threads.net/?u=<target>&e=... -> target."""
    parts = urlsplit(uri)
    if parts.hostname and parts.hostname.startswith("l.threads."):
        target = parse_qs(parts.query).get("u")
        if target:
            return target[0]
    return uri


def text_links(p: Json, host: str) -> tuple[str | None, list[Link]]:
    """The text as shown: fragments' plaintext, links as their display_text; else caption.text."""
    fragments = (((p.get("text_post_app_info") or {}).get("text_fragments") or {}).get("fragments")) or []
    if not fragments:
        caption = (p.get("caption") or {}).get("text")
        return (caption.strip() or None) if isinstance(caption, str) else None, []
    parts: list[str] = []
    links: list[Link] = []
    for f in fragments:
        kind = f.get("fragment_type")
        shown = str(f.get("plaintext") or "")
        if kind == "mention":
            user = ((f.get("mention_fragment") or {}).get("mentioned_user") or {}).get("username") or shown.lstrip("@")
            links.append(Link(kind=LinkKind.MENTION, text=shown, url=f"https://{host}/@{user}"))
        elif kind == "link":
            lf = f.get("link_fragment") or {}
            shown = str(lf.get("display_text") or shown)
            links.append(Link(kind=LinkKind.LINK, text=shown, url=unwrap_link(str(lf.get("uri") or shown))))
        elif kind in ("tag", "hashtag"):
            tag = shown.lstrip("#")
            links.append(Link(kind=LinkKind.HASHTAG, text=shown, url=f"https://{host}/search?q={tag}&serp_type=tags"))
        parts.append(shown)
    text = re.sub(r"\n{3,}", "\n\n", "".join(parts).replace("\r\n", "\n")).strip()
    return text or None, links


def best_image(m: Json) -> Json | None:
    cands = [c for c in ((m.get("image_versions2") or {}).get("candidates") or []) if c.get("url")]
    return max(cands, key=lambda c: int(c.get("width") or 0) * int(c.get("height") or 0)) if cands else None


def one_media(m: Json) -> Media | None:
    image = best_image(m)
    width = m.get("original_width") or (image or {}).get("width")
    height = m.get("original_height") or (image or {}).get("height")
    alt = m.get("accessibility_caption") or None
    videos = [v for v in (m.get("video_versions") or []) if v.get("url")]
    if videos:  # the widest when sizes are stated, else the first (Instagram lists the best first)
        video = max(videos, key=lambda v: int(v.get("width") or 0) * int(v.get("height") or 0))
        return Media(type=MediaType.VIDEO, url=video["url"], alt=alt, width=width, height=height,
                     poster_url=image["url"] if image else None)
    if image and m.get("media_type") in (1, 8, None):
        return Media(type=MediaType.IMAGE, url=image["url"], alt=alt, width=width, height=height)
    return None


def api_media(p: Json) -> list[Media]:
    items = p.get("carousel_media") or ([p] if p.get("media_type") in (1, 2) else [])
    return [m for m in (one_media(i) for i in items) if m is not None]


def api_counts(p: Json) -> list[Count]:
    if p.get("like_and_view_counts_disabled"):
        return []
    info = p.get("text_post_app_info") or {}
    pairs = [("likes", p.get("like_count")), ("replies", info.get("direct_reply_count")),
             ("reposts", info.get("repost_count")), ("quotes", info.get("quote_count")), ("shares", info.get("reshare_count"))]
    return [c for name, n in pairs if n is not None and (c := count(name, str(n))) is not None]


# -- the rendered page ------------------------------------------------------------------------


def focal_selector(code: str) -> str:
    link = f'a[href$="/post/{code}"] time'
    return f"{CONTAINER}:has({link}):not(:has({CONTAINER} {link}))"


def focal_container(ev: PageEvidence, code: str) -> HtmlElement | None:
    """The innermost pressable container holding the post's own permalink (the link around its <time>)."""
    for el in ev.select(CONTAINER):
        own = [a for a in el.cssselect("a[href]") if urlsplit(a.get("href") or "").path.rstrip("/").endswith(f"/post/{code}")
               and a.cssselect("time") and not nested(a, el)]
        if own:
            return el
    return None


def nested(el: HtmlElement, container: HtmlElement) -> bool:
    """Inside another pressable container (a quoted post) within `container`."""
    for anc in el.iterancestors():
        if anc is container:
            return False
        if anc.get("data-pressable-container") == "true":
            return True
    return False


def dom_counts(box: HtmlElement) -> list[Count]:
    out: dict[str, Count] = {}
    for svg in box.cssselect("svg[aria-label]"):
        name = ACTIONS.get((svg.get("aria-label") or "").strip().lower())
        button = next((a for a in svg.iterancestors() if a.get("role") == "button"), None)
        if name is None or button is None or nested(button, box) or name in out:
            continue
        shown = [s.text_content().strip() for s in button.cssselect("span") if NUMBER.match(s.text_content().strip())]
        c = count(name, shown[-1] if shown else None)
        if c is not None:
            out[name] = c
    return list(out.values())


def dom_text(box: HtmlElement, ev: PageEvidence, username: str | None) -> tuple[str | None, list[Link]]:
    """The longest span[dir=auto] of the container that is not the header (name, time) nor a
    quote; links out of l.threads.net unwrapped, the site's own (/@user) on its canonical host."""
    best: HtmlElement | None = None
    for span in box.cssselect('span[dir="auto"]'):
        if nested(span, box) or span.cssselect("time") or span.getparent().tag == "span":
            continue
        words = span.text_content().strip()
        if not words or words == username:
            continue
        if best is None or len(words) > len(best.text_content().strip()):
            best = span
    if best is None:
        return None, []
    text, links = text_and_links(best, ev)
    out = []
    for link in links:
        href = urlsplit(link.url or "")
        if href.hostname == ev.host and href.path.startswith("/"):
            out.append(link.model_copy(update={"url": f"https://{site(ev)}{href.path}"}))
        else:
            out.append(link.model_copy(update={"url": unwrap_link(link.url)}) if link.url else link)
    return text or None, out


def dom_media(box: HtmlElement, ev: PageEvidence) -> list[Media]:
    out: list[Media] = []
    for el in box.cssselect("picture img, video"):
        if nested(el, box):
            continue
        if el.tag == "video":
            src = ev.absolute(el.get("src")) or next((ev.absolute(s.get("src")) for s in el.cssselect("source[src]")), None)
            if src and not src.startswith("blob:"):
                out.append(Media(type=MediaType.VIDEO, url=src, poster_url=ev.absolute(el.get("poster"))))
            continue
        src = ev.absolute(el.get("src"))
        srcset = el.get("srcset") or ""
        widest = max(((int(w[:-1]), u) for u, w in (c.strip().rsplit(" ", 1) for c in srcset.split(",") if " " in c.strip())
                      if w.endswith("w") and w[:-1].isdigit()), default=None)
        if widest and widest[0] > int(el.get("width") or 0):
            src = ev.absolute(widest[1])
        if src:
            out.append(Media(type=MediaType.IMAGE, url=src, alt=el.get("alt") or None))
    return out


# -- behaviours -------------------------------------------------------------------------------

CLOSE_LOGIN_JS = r"""async (args) => {
  const actions = [];
  const visible = (el) => { if (!el || !el.isConnected) return false; const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  for (const dialog of document.querySelectorAll('[role="dialog"]')) {
    if (!visible(dialog) || dialog.querySelector('input[type="password"]')) continue;
    const icon = dialog.querySelector('svg[aria-label="Close"]');
    const close = dialog.querySelector('[role="button"][aria-label="Close"]') || (icon && icon.closest('[role="button"], button'));
    if (close) {
      const label = (dialog.getAttribute('aria-label') || dialog.innerText || '').trim().split('\n')[0].slice(0, 60);
      close.click();
      actions.push(`closed the login dialog '${label}' ([role=dialog] [aria-label=Close])`);
    }
  }
  for (const span of document.querySelectorAll('span[dir="auto"]')) {
    if (!/^Log in or sign up for Threads$/i.test((span.textContent || '').trim())) continue;
    let el = span;
    while (el && el !== document.body && getComputedStyle(el).position !== 'fixed') el = el.parentElement;
    if (el && el !== document.body && el.style.display !== 'none') {
      el.style.display = 'none';
      actions.push("hid the 'Log in or sign up for Threads' bar");
    }
  }
  if (actions.length) await new Promise((r) => setTimeout(r, 200));
  return {actions, more: actions.length > 0 && args.round < 2};
}"""

REPLIES_JS = r"""async (args) => {
  const actions = [];
  if (!args.comments || args.round > Math.max(1, args.threadDepth)) return {actions, more: false};
  const words = /^((view|see|show) (\d+ )?more repl(y|ies)|more replies|view replies)$/i;
  const posts = () => document.querySelectorAll('div[data-pressable-container="true"]').length;
  for (const el of document.querySelectorAll('[role="button"]')) {
    const text = (el.innerText || el.textContent || '').trim();
    if (!words.test(text) || el.closest('[role="dialog"]')) continue;
    const before = posts();
    el.scrollIntoView({block: 'center'});
    el.click();
    actions.push(`clicked '${text}' (round ${args.round})`);
    const t0 = Date.now();
    while (Date.now() - t0 < 2500 && posts() === before) await new Promise((r) => setTimeout(r, 100));
    actions.push(`${posts() - before} more replies shown`);
    break;
  }
  return {actions, more: actions.length > 0 && args.round < args.threadDepth};
}"""

BEHAVIOURS = (
    Behaviour(name="threads-close-login", description="Close Threads' logged-out 'Say more with Threads' dialog and hide the login bar.",
              script=CLOSE_LOGIN_JS, rounds=2, pause=0.2),
    Behaviour(name="threads-replies", description="Click 'View more replies' under the post, up to threadDepth rounds, when comments are wanted.",
              script=REPLIES_JS, rounds=5, pause=0.5),
)


# -- the platform -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Threads(Platform):
    name: str = "threads"
    version: int = VERSION
    hosts: tuple[str, ...] = ("threads.net", "threads.com")
    behaviours: tuple[Behaviour, ...] = BEHAVIOURS

    def post_selectors(self, url: str) -> list[str]:
        code = post_code(url)
        return ([focal_selector(code)] if code else []) + [CONTAINER]

    def login_wall(self, ev: PageEvidence) -> str | None:
        code = post_code(ev.url) or post_code(ev.final_url)
        if code and (focal_container(ev, code) is not None or code in ThreadsData.read(ev).posts):
            return None
        path = urlsplit(ev.final_url).path
        if LOGIN_PATHS.match(path):
            return f"Threads sent the page to its login page ({path})"
        if ev.select('form input[type="password"]'):
            return "a Threads login form and no post"
        for node in ThreadsData.read(ev).posts.values():
            info = node.post.get("text_post_app_info") or {}
            if info.get("is_post_unavailable") and info.get("post_unavailable_reason"):
                return f"Threads says the post is unavailable: {info['post_unavailable_reason']}"
        return None

    def extract(self, ev: PageEvidence) -> Post | None:
        code = post_code(ev.url) or post_code(ev.final_url)
        if not code:
            return None
        data = ThreadsData.read(ev)
        box = focal_container(ev, code)
        found = data.posts.get(code)
        if found is not None:
            return self._from_json(ev, code, found, data, box)
        if box is not None:
            return self._from_dom(ev, code, box)
        return None

    def _from_json(self, ev: PageEvidence, code: str, found: Found, data: ThreadsData, box: HtmlElement | None) -> Post:
        p = found.post
        host = site(ev)
        user = p["user"]
        username = user.get("username")
        avatars = sorted(user.get("hd_profile_pic_versions") or [], key=lambda v: int(v.get("width") or 0))
        author = Author(
            display_name=user.get("full_name") or None, handle=f"@{username}" if username else None,
            url=f"https://{host}/@{username}" if username else None, id=str(user["pk"]) if user.get("pk") else None,
            avatar_url=(avatars[-1]["url"] if avatars else user.get("profile_pic_url")) or None,
            verified=bool(user.get("is_verified")),
        )
        text, links = text_links(p, host)
        media = api_media(p)
        relations = self._relations(p, found, host)
        given = ["id", "url"] + [f"author.{k}" for k, v in author.model_dump().items() if v is not None]
        given += [n for n, v in (("published", p.get("taken_at")), ("text", text), ("links", links), ("media", media)) if v]
        given += [f"relations.{k}" for k, v in relations.model_dump().items() if v]
        sources = [Source(kind=found.kind, locator=found.locator, fields=given)]
        counts = dom_counts(box) if box is not None else []
        if counts:
            sources.append(Source(kind=SourceKind.DOM, locator=f'{focal_selector(code)} [role="button"] svg[aria-label]',
                                  fields=["counts"]))
        else:
            counts = api_counts(p)
            if counts:
                sources[0].fields.append("counts")
        raw = p.get("taken_at")
        return Post(
            platform=self.name, id=str(p["code"]), url=post_url(host, username or "", p["code"]), author=author,
            published=parse_time(raw), published_raw=str(raw) if raw is not None else None, text=text, links=links,
            media=media, counts=counts, relations=relations, sources=sources,
            extraction=Extraction(extractor=self.name, version=self.version),
        )

    @staticmethod
    def _relations(p: Json, found: Found, host: str) -> Relations:
        def url_of(other: Json | None) -> str | None:
            if not isinstance(other, dict) or not other.get("code"):
                return None
            return post_url(host, ((other.get("user") or {}).get("username")) or "", other["code"])

        share = (p.get("text_post_app_info") or {}).get("share_info") or {}
        reply_to = root = None
        codes = [t.get("code") for t in found.thread]
        if p["code"] in codes and codes.index(p["code"]) > 0:
            at = codes.index(p["code"])
            reply_to, root = url_of(found.thread[at - 1]), url_of(found.thread[0])
        return Relations(reply_to=reply_to, quote_of=url_of(share.get("quoted_post")),
                         repost_of=url_of(share.get("reposted_post")), thread_root=root)

    def _from_dom(self, ev: PageEvidence, code: str, box: HtmlElement) -> Post:
        host = site(ev)
        profile = next((a.get("href") for a in box.cssselect('a[href^="/@"]') if "/post/" not in (a.get("href") or "")
                        and not nested(a, box)), None)
        m = POST_PATH.match(urlsplit(ev.url).path)
        username = profile[2:].strip("/") if profile else (m.group("user") if m else None)
        avatar = next((img for img in box.cssselect("img[alt]") if img.get("alt", "").endswith("profile picture")
                       and not nested(img, box)), None)
        author = Author(
            handle=f"@{username}" if username else None, url=f"https://{host}/@{username}" if username else None,
            avatar_url=ev.absolute(avatar.get("src")) if avatar is not None else None,
            verified=any(not nested(s, box) for s in box.cssselect('svg[aria-label="Verified"]')),
        )
        raw = None
        for a in box.cssselect("a[href]"):
            if urlsplit(a.get("href") or "").path.rstrip("/").endswith(f"/post/{code}") and a.cssselect("time[datetime]"):
                raw = a.cssselect("time[datetime]")[0].get("datetime")
                break
        text, links = dom_text(box, ev, username)
        media = dom_media(box, ev)
        counts = dom_counts(box)
        given = ["url"] + [f"author.{k}" for k, v in author.model_dump().items() if v is not None]
        given += [n for n, v in (("published", raw), ("text", text), ("links", links), ("media", media), ("counts", counts)) if v]
        return Post(
            platform=self.name, id=code, url=post_url(host, username or "", code), author=author,
            published=parse_time(raw), published_raw=raw, text=text, links=links, media=media, counts=counts,
            sources=[Source(kind=SourceKind.URL, locator=ev.url, fields=["id"]),
                     Source(kind=SourceKind.DOM, locator=focal_selector(code), fields=given)],
            extraction=Extraction(extractor=self.name, version=self.version),
        )


PLATFORM = Threads()
