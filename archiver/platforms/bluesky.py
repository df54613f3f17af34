"""Bluesky: bsky.app/profile/<handle or did>/post/<rkey>. Documented in docs/platforms/bluesky.md.

The web client is a React Native Web app that resolves the handle and fetches
app.bsky.feed.getPostThread from the public AppView; the extractor reads that recorded
JSON (the lexicon shapes are versioned and stable), then the DOM's data-testid attributes
for the counts as displayed, and falls back to bskyweb's server-rendered og: meta.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from lxml.html import HtmlElement

from ..capture.behaviours.runner import Behaviour
from .base import Platform, clean, count, parse_time, text_and_links
from .evidence import PageEvidence
from .models import Author, Count, Extraction, Link, LinkKind, Media, MediaType, Post, Relations, Source, SourceKind

NAME = "bluesky"
VERSION = 1
APP = "https://bsky.app"

POST_PATH = re.compile(r"^/profile/(?P<actor>[^/]+)/post/(?P<rkey>[A-Za-z0-9._:~-]+)/?$")
AT_URI = re.compile(r"^at://(?P<repo>[^/]+)/(?P<collection>[^/]+)/(?P<rkey>[^/?#]+)$")
THREAD_API = r"/xrpc/app\.bsky\.(?:feed\.getPostThread|unspecced\.getPostThreadV2)\?"
POSTS_API = r"/xrpc/app\.bsky\.feed\.getPosts\?"
NO_UNAUTHENTICATED = "!no-unauthenticated"
COUNT_TESTIDS = (("reposts", "repostCount-expanded", "/reposted-by"), ("quotes", "quoteCount-expanded", "/quotes"), ("likes", "likeCount-expanded", "/liked-by"))
ORDER = {"replies": 0, "reposts": 1, "quotes": 2, "likes": 3}

REVEAL_JS = r"""async (args) => {
  const actions = [];
  const items = [...document.querySelectorAll('[data-testid^="postThreadItem-by-"]')];
  // the anchor post is the one with the expanded counts / date line; others are parents and replies
  const anchor = items.find((el) => el.querySelector('[data-testid$="Count-expanded"]')) || null;
  const scope = args.comments ? items : (anchor ? [anchor] : []);
  let shown = 0;
  for (const item of scope) {
    for (const b of item.querySelectorAll('[data-testid^="contentHider"]')) {
      const label = (b.getAttribute('aria-label') || b.innerText || '').trim().split('\n')[0].slice(0, 40);
      const text = (b.innerText || '').toLowerCase();
      if (text.includes('hide')) continue;  // already shown
      try { b.click(); shown++; actions.push(`showed content hidden by a label warning ('${label}', [data-testid=${b.dataset.testid}])`); } catch (e) { /* detached */ }
    }
  }
  return {actions: actions.slice(0, 20), more: false};
}"""

REVEAL = Behaviour(
    name="bluesky-reveal",
    description="show post content hidden behind moderation-label warnings ('Graphic Media' -> Show) on the post and, when comments are on, its replies",
    script=REVEAL_JS,
    rounds=1,
)


# -- identifiers --------------------------------------------------------------------------


def post_ref(url: str) -> tuple[str, str] | None:
    """(actor, rkey) of a bsky.app post URL; the actor is a handle or a DID."""
    m = POST_PATH.match(urlsplit(url).path)
    return (m.group("actor").lower() if not m.group("actor").startswith("did:") else m.group("actor"), m.group("rkey")) if m else None


def web_url(at_uri: str, handle: str | None = None) -> str | None:
    """at://did/app.bsky.feed.post/rkey -> https://bsky.app/profile/<handle or did>/post/rkey."""
    m = AT_URI.match(at_uri or "")
    if not m or m.group("collection") != "app.bsky.feed.post":
        return None
    return f"{APP}/profile/{handle or m.group('repo')}/post/{m.group('rkey')}"


# -- reading the AppView JSON -------------------------------------------------------------


@dataclass
class Thread:
    anchor: dict[str, Any]
    locator: str
    handles: dict[str, str] = field(default_factory=dict)  # DID -> handle, from every view seen


def _views(node: Any) -> list[dict[str, Any]]:
    """Every post view or record view nested in an AppView answer."""
    found: list[dict[str, Any]] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            if isinstance(cur.get("uri"), str) and isinstance(cur.get("author"), dict):
                found.append(cur)
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)
    return found


def _is_anchor(post: dict[str, Any], ref: tuple[str, str] | None) -> bool:
    m = AT_URI.match(post.get("uri") or "")
    if not m or m.group("collection") != "app.bsky.feed.post" or "record" not in post:
        return False
    if ref is None:
        return True
    actor, rkey = ref
    author = post.get("author") or {}
    return m.group("rkey") == rkey and actor in (author.get("did"), (author.get("handle") or "").lower())


def _thread_anchor(data: Any) -> dict[str, Any] | None:
    thread = data.get("thread") if isinstance(data, dict) else None
    if isinstance(thread, dict):  # getPostThread: thread = threadViewPost
        post = thread.get("post")
        return post if isinstance(post, dict) else None
    if isinstance(thread, list):  # getPostThreadV2: [{uri, depth, value: {post}}], the anchor at depth 0
        for item in thread:
            if isinstance(item, dict) and item.get("depth") == 0:
                post = (item.get("value") or {}).get("post")
                return post if isinstance(post, dict) else None
    return None


def find_thread(ev: PageEvidence, ref: tuple[str, str] | None) -> Thread | None:
    for url, data in ev.api_json(THREAD_API):
        anchor = _thread_anchor(data)
        if anchor is not None and _is_anchor(anchor, ref):
            return Thread(anchor, url, _handles(data))
    for url, data in ev.api_json(POSTS_API):
        for post in (data.get("posts") or []) if isinstance(data, dict) else []:
            if isinstance(post, dict) and _is_anchor(post, ref):
                return Thread(post, url, _handles(data))
    return None


def _handles(data: Any) -> dict[str, str]:
    out = {}
    for view in _views(data):
        author = view["author"]
        if author.get("did") and author.get("handle"):
            out[author["did"]] = author["handle"]
    return out


def facet_links(text: str, facets: list[dict[str, Any]]) -> list[Link]:
    """Links, mentions and hashtags of a post's richtext facets (UTF-8 byte offsets)."""
    raw = text.encode("utf-8")
    out = []
    for facet in sorted(facets, key=lambda f: (f.get("index") or {}).get("byteStart", 0)):
        index = facet.get("index") or {}
        shown = raw[index.get("byteStart", 0) : index.get("byteEnd", 0)].decode("utf-8", "replace")
        for feature in facet.get("features") or []:
            kind = (feature.get("$type") or "").rsplit("#", 1)[-1]
            if kind == "link":
                out.append(Link(kind=LinkKind.LINK, text=shown, url=feature.get("uri")))
            elif kind == "mention":
                out.append(Link(kind=LinkKind.MENTION, text=shown, url=f"{APP}/profile/{feature.get('did')}"))
            elif kind == "tag":
                out.append(Link(kind=LinkKind.HASHTAG, text=shown, url=f"{APP}/hashtag/{quote(feature.get('tag') or '', safe='')}"))
    return out


def media_of(embed: dict[str, Any] | None) -> list[Media]:
    if not isinstance(embed, dict):
        return []
    kind = embed.get("$type") or ""
    if kind == "app.bsky.embed.recordWithMedia#view":
        return media_of(embed.get("media"))
    ratio = embed.get("aspectRatio") or {}
    if kind == "app.bsky.embed.images#view":
        out = []
        for image in embed.get("images") or []:
            size = image.get("aspectRatio") or {}
            out.append(Media(type=MediaType.IMAGE, url=image["fullsize"], alt=clean(image.get("alt")), width=size.get("width"), height=size.get("height")))
        return out
    if kind == "app.bsky.embed.video#view" and embed.get("playlist"):
        return [Media(type=MediaType.VIDEO, url=embed["playlist"], alt=clean(embed.get("alt")), width=ratio.get("width"), height=ratio.get("height"), poster_url=embed.get("thumbnail"))]
    return []


def card_link(embed: dict[str, Any] | None) -> Link | None:
    """The link card (app.bsky.embed.external#view) shown under the text."""
    if not isinstance(embed, dict):
        return None
    if embed.get("$type") == "app.bsky.embed.recordWithMedia#view":
        return card_link(embed.get("media"))
    external = embed.get("external") if embed.get("$type") == "app.bsky.embed.external#view" else None
    if isinstance(external, dict) and external.get("uri"):
        return Link(kind=LinkKind.LINK, text=clean(external.get("title")) or external["uri"], url=external["uri"])
    return None


def quoted(embed: dict[str, Any] | None, handles: dict[str, str]) -> str | None:
    if not isinstance(embed, dict):
        return None
    kind = embed.get("$type") or ""
    record = embed.get("record")
    if kind == "app.bsky.embed.recordWithMedia#view" and isinstance(record, dict):
        record = record.get("record")
    elif kind != "app.bsky.embed.record#view":
        return None
    if not isinstance(record, dict) or not record.get("uri"):
        return None
    author = record.get("author") or {}
    m = AT_URI.match(record["uri"])
    return web_url(record["uri"], author.get("handle") or (handles.get(m.group("repo")) if m else None))


def relations_of(post: dict[str, Any], handles: dict[str, str]) -> Relations:
    reply = (post.get("record") or {}).get("reply") or {}

    def url_of(ref: Any) -> str | None:
        uri = ref.get("uri") if isinstance(ref, dict) else None
        m = AT_URI.match(uri or "")
        return web_url(uri, handles.get(m.group("repo"))) if m and uri else None

    return Relations(reply_to=url_of(reply.get("parent")), thread_root=url_of(reply.get("root")), quote_of=quoted(post.get("embed"), handles))


def anchor_item(ev: PageEvidence, handle: str | None) -> HtmlElement | None:
    """The thread item of the post itself: the one with the expanded count/date line."""
    items = ev.select('[data-testid^="postThreadItem-by-"]')
    for item in items:
        if ev.first('[data-testid$="Count-expanded"]', item) is not None:
            return item
    for item in items:
        if handle and item.get("data-testid") == f"postThreadItem-by-{handle}":
            return item
    return None


def dom_counts(ev: PageEvidence, item: HtmlElement | None) -> list[Count]:
    out: list[Count] = []
    if item is None:
        return out
    for name, testid, suffix in COUNT_TESTIDS:
        el = ev.first(f'[data-testid="{testid}"]', item)
        if el is None:
            el = next((a for a in ev.select("a[href]", item) if a.get("href", "").rstrip("/").endswith(suffix)), None)
        if el is None:
            continue
        number = ev.first("span", el)
        shown = clean(number.text_content()) if number is not None else None
        if shown is None:
            m = re.match(r"\s*([\d.,]+\s*[KMB]?)", el.text_content())
            shown = m.group(1) if m else None
        found = count(name, shown)
        if found is not None:
            out.append(found)
    return out


def from_api(ev: PageEvidence, thread: Thread) -> Post:
    post = thread.anchor
    record = post.get("record") or {}
    author = post.get("author") or {}
    handle = author.get("handle")
    handles = {**thread.handles, **({author["did"]: handle} if author.get("did") and handle else {})}
    text = record.get("text") or ""
    links = facet_links(text, record.get("facets") or [])
    card = card_link(post.get("embed"))
    if card is not None and card.url not in {link.url for link in links}:
        links.append(card)
    item = anchor_item(ev, handle)
    shown = dom_counts(ev, item)
    counts = shown + [
        c for c in (count(name, str(post[key])) for name, key in (("replies", "replyCount"), ("reposts", "repostCount"), ("quotes", "quoteCount"), ("likes", "likeCount")) if isinstance(post.get(key), int))
        if c is not None and c.name not in {s.name for s in shown}
    ]
    counts.sort(key=lambda c: ORDER.get(c.name, 9))
    verification = author.get("verification")
    langs = record.get("langs") or []
    at = AT_URI.match(post["uri"])
    if at is None:
        raise ValueError(f"not an at:// URI: {post['uri']!r}")
    rkey = at.group("rkey")
    fields = ["id", "url", "author", "published", "text", "language", "media", "relations"]
    fields += ["links"] if links else []
    fields += ["counts"] if len(counts) > len(shown) else []
    sources = [Source(kind=SourceKind.API_JSON, locator=thread.locator, fields=fields)]
    if shown:
        sources.append(Source(kind=SourceKind.DOM, locator='[data-testid^="postThreadItem-by-"] [data-testid$="Count-expanded"]', fields=["counts"]))
    return Post(
        platform=NAME,
        id=post["uri"],
        url=f"{APP}/profile/{handle or author.get('did')}/post/{rkey}",
        author=Author(
            display_name=clean(author.get("displayName")),
            handle=f"@{handle}" if handle else None,
            url=f"{APP}/profile/{handle or author.get('did')}",
            id=author.get("did"),
            avatar_url=author.get("avatar"),
            verified=(verification.get("verifiedStatus") == "valid") if isinstance(verification, dict) else None,
        ),
        published=parse_time(record.get("createdAt")),
        published_raw=record.get("createdAt"),
        text=text or None,
        links=links,
        language=langs[0] if langs else None,
        media=media_of(post.get("embed")),
        counts=counts,
        relations=relations_of(post, handles),
        sources=sources,
        extraction=Extraction(extractor=NAME, version=VERSION),
    )


# -- server-rendered meta + DOM (no AppView answer recorded) -------------------------------


def _at_alternate(ev: PageEvidence) -> str | None:
    for el in ev.doc.xpath("//link[@rel='alternate'][@href]"):
        if el.get("href", "").startswith("at://"):
            return el.get("href")
    return None


def from_meta(ev: PageEvidence) -> Post | None:
    """bskyweb's og:/article: meta and <link rel=alternate href=at://...>, the rendered
    thread item for text, links, images and counts."""
    at_uri = _at_alternate(ev)
    handle = ev.meta("profile:username")
    if at_uri is None and handle is None:
        return None
    sources = [Source(kind=SourceKind.OPENGRAPH, locator="meta[property^='og:'], meta[name='article:published_time'], link[rel=alternate]", fields=["id", "url", "author", "published", "text"])]
    title = ev.meta("og:title") or ""
    m = re.match(r"^(?P<name>.*) \(@(?P<handle>[^)]+)\)$", title)
    did = ev.meta("twitter:value1") if ev.meta("twitter:label1") == "Account DID" else None
    item = anchor_item(ev, handle)
    text, links = ev.meta("og:description"), []
    media: list[Media] = []
    if item is not None:
        body = ev.first('[data-testid="postText"]', item)
        if body is not None:
            text, links = text_and_links(body, ev)
            sources.append(Source(kind=SourceKind.DOM, locator='[data-testid^="postThreadItem-by-"] [data-testid="postText"]', fields=["text", "links"]))
        for img in ev.select('img[src*="/img/feed_thumbnail/"]', item):
            media.append(Media(type=MediaType.IMAGE, url=img.get("src", "").replace("/img/feed_thumbnail/", "/img/feed_fullsize/"), alt=clean(img.get("alt"))))
        if media:
            sources.append(Source(kind=SourceKind.DOM, locator='[data-testid^="postThreadItem-by-"] img[src*="/img/feed_thumbnail/"]', fields=["media"]))
    counts = dom_counts(ev, item)
    if counts:
        sources.append(Source(kind=SourceKind.DOM, locator='[data-testid^="postThreadItem-by-"] [data-testid$="Count-expanded"]', fields=["counts"]))
    url = ev.link_rel("canonical") or ev.meta("og:url") or ev.final_url
    raw = ev.meta("article:published_time")
    return Post(
        platform=NAME,
        id=at_uri,
        url=url,
        author=Author(
            display_name=m.group("name") if m else None,
            handle=f"@{handle}" if handle else None,
            url=f"{APP}/profile/{handle}" if handle else None,
            id=did,
        ),
        published=parse_time(raw),
        published_raw=raw,
        text=text,
        links=links,
        media=media,
        counts=counts,
        sources=sources,
        extraction=Extraction(extractor=NAME, version=VERSION),
    )


# -- the platform -------------------------------------------------------------------------


def _signed_in_only(ev: PageEvidence) -> bool:
    ref = post_ref(ev.final_url) or post_ref(ev.url)
    for _, data in ev.api_json(THREAD_API):
        anchor = _thread_anchor(data)
        if anchor is not None and _is_anchor(anchor, ref):
            labels = (anchor.get("author") or {}).get("labels") or []
            return any(isinstance(lab, dict) and lab.get("val") == NO_UNAUTHENTICATED for lab in labels)
    return False


@dataclass(frozen=True)
class Bluesky(Platform):
    name: str = NAME
    version: int = VERSION
    hosts: tuple[str, ...] = ("bsky.app",)
    behaviours: tuple[Behaviour, ...] = (REVEAL,)

    def post_selectors(self, url: str) -> list[str]:
        ref = post_ref(url)
        first = [f'[data-testid="postThreadItem-by-{ref[0]}"]:has([data-testid$="Count-expanded"])'] if ref and not ref[0].startswith("did:") else []
        return first + ['[data-testid^="postThreadItem-by-"]:has([data-testid$="Count-expanded"])']

    def login_wall(self, ev: PageEvidence) -> str | None:
        if _signed_in_only(ev):
            return f"the author asks that their posts be shown to signed-in users only ({NO_UNAUTHENTICATED})"
        hider = ev.first('[data-testid="screenHider"]')
        if hider is not None and "sign" in hider.text_content().lower():
            return "the app shows 'Sign-in Required' instead of the post"
        return None

    def extract(self, ev: PageEvidence) -> Post | None:
        ref = post_ref(ev.final_url) or post_ref(ev.url)
        if _signed_in_only(ev) and anchor_item(ev, None) is None:
            return None  # the app did not show it: the author limits it to signed-in users
        thread = find_thread(ev, ref)
        if thread is not None:
            return from_api(ev, thread)
        return from_meta(ev)


PLATFORM = Bluesky()
