"""X (formerly Twitter): a status page /<handle>/status/<id>.

The page is a React shell; what it shows comes from GraphQL responses the capture recorded
(TweetDetail on x.com/i/api/graphql, TweetResultByRestId on api.x.com/graphql for logged-out
visitors). The extractor reads the post from those responses first and the rendered DOM
(article[data-testid="tweet"]) for what the page displayed: the counts as shown, and every
field when no API response was recorded. Markup and JSON paths relied on: docs/platforms/x.md.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from lxml.html import HtmlElement

from ..capture.behaviours.runner import Behaviour
from .base import Platform, count, parse_time, text_and_links
from .evidence import PageEvidence
from .models import (
    Author, Count, Extraction, Link, LinkKind, Media, MediaType, Post, Relations, Source, SourceKind,
)

VERSION = 1
BASE = "https://x.com"
STATUS_PATH = re.compile(r"^/(?:i/web/|i/|(?P<handle>[A-Za-z0-9_]{1,15})/)status(?:es)?/(?P<id>\d{1,20})(?:/|$)", re.I)
GRAPHQL = r"/graphql/[^/?]+/(TweetResultByRestId|TweetDetail|TweetResultsByRestIds|ConversationTimeline)\b"
LOGIN_PATHS = re.compile(r"^/(i/flow/login|login|i/flow/signup)(/|$)", re.I)
NO_LANGUAGE = {"und", "zxx", "qme", "qht", "qam", "qct", "qst", "art"}
LOGIN_REASONS = ("NsfwLoggedOut", "Protected", "LoggedOut")
ARTICLE = 'article[data-testid="tweet"]'
# action bar buttons (data-testid, and the one it becomes once the viewer used it) -> count name
BUTTONS = (("reply", "reply", "replies"), ("retweet", "unretweet", "reposts"), ("like", "unlike", "likes"),
           ("bookmark", "removeBookmark", "bookmarks"))
VIEWS_TEXT = re.compile(r"([\d][\d.,]*\s*[KMB]?)\s+Views?\b", re.I)

Json = dict[str, Any]


def status_id(url: str) -> str | None:
    m = STATUS_PATH.match(urlsplit(url).path)
    return m.group("id") if m else None


def url_handle(url: str) -> str | None:
    m = STATUS_PATH.match(urlsplit(url).path)
    return m.group("handle") if m else None


def status_url(screen_name: str | None, tweet_id: str) -> str:
    return f"{BASE}/{screen_name or 'i'}/status/{tweet_id}"


# -- the API's tweet objects ------------------------------------------------------------------


def unwrap(result: Any) -> Json | None:
    """A tweet result as X nests it: Tweet, or TweetWithVisibilityResults around one."""
    if not isinstance(result, dict):
        return None
    if result.get("__typename") == "TweetWithVisibilityResults" or ("tweet" in result and "legacy" not in result):
        result = result.get("tweet")
    if isinstance(result, dict) and isinstance(result.get("legacy"), dict) and result.get("rest_id"):
        return result
    return None


def walk(node: Any) -> Iterator[Json]:
    """Every dict in a JSON tree, depth first."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            yield cur
            stack.extend(reversed(list(cur.values())))
        elif isinstance(cur, list):
            stack.extend(reversed(cur))


@dataclass
class ApiTweets:
    """Tweets found in the recorded GraphQL responses, by id, with the response URL each came from."""

    tweets: dict[str, tuple[str, Json]] = field(default_factory=dict)
    unavailable: list[tuple[str, str]] = field(default_factory=list)  # (response URL, reason)

    @classmethod
    def read(cls, ev: PageEvidence) -> "ApiTweets":
        found = cls()
        for url, data in ev.api_json(GRAPHQL):
            for node in walk(data):
                tweet = unwrap(node) if node.get("__typename") in ("Tweet", "TweetWithVisibilityResults") else None
                if tweet is not None:
                    found.tweets.setdefault(str(tweet["rest_id"]), (url, tweet))
                elif node.get("__typename") == "TweetUnavailable" or node.get("__typename") == "TweetTombstone":
                    found.unavailable.append((url, str(node.get("reason") or node.get("__typename"))))
        return found

    def screen_name(self, tweet_id: str) -> str | None:
        hit = self.tweets.get(tweet_id)
        return user_fields(hit[1])["screen_name"] if hit else None

    def url_of(self, tweet_id: str, screen_name: str | None = None) -> str:
        return status_url(screen_name or self.screen_name(tweet_id), tweet_id)


def user_fields(tweet: Json) -> dict[str, Any]:
    """Author of a tweet result; both the older user.legacy and the 2025 user.core/avatar shapes."""
    user = ((tweet.get("core") or {}).get("user_results") or {}).get("result") or {}
    legacy = user.get("legacy") or {}
    core = user.get("core") or {}
    avatar = (user.get("avatar") or {}).get("image_url") or legacy.get("profile_image_url_https")
    verified = bool(
        user.get("is_blue_verified") or legacy.get("verified") or legacy.get("verified_type")
        or (user.get("verification") or {}).get("verified")
    )
    return {
        "screen_name": core.get("screen_name") or legacy.get("screen_name"),
        "name": core.get("name") or legacy.get("name"),
        "id": user.get("rest_id"),
        "avatar": avatar,
        "verified": verified,
    }


def note_of(tweet: Json) -> Json | None:
    note = (((tweet.get("note_tweet") or {}).get("note_tweet_results") or {}).get("result")) or None
    return note if isinstance(note, dict) and note.get("text") else None


def _locate(chars: str, wanted: str, start: int, end: int, taken: list[tuple[int, int]]) -> tuple[int, int] | None:
    """Where an entity sits: its stated indices when they hold it, else its first free place
    (indices drift where the text has HTML entities or astral characters)."""
    def free(a: int, b: int) -> bool:
        return not any(x < b and a < y for x, y in taken)

    if 0 <= start < end <= len(chars) and chars[start:end].casefold() == wanted.casefold() and free(start, end):
        return start, end
    folded, key = chars.casefold(), wanted.casefold()
    pos = folded.find(key)
    while pos >= 0 and not free(pos, pos + len(wanted)):
        pos = folded.find(key, pos + 1)
    return (pos, pos + len(wanted)) if pos >= 0 else None


def rich_text(text: str, ents: Json, shown: tuple[int, int] | None, hidden_urls: set[str]) -> tuple[str, list[Link]]:
    """The text as X shows it: HTML entities decoded, only the display range, t.co links as
    their display_url, media and quoted-post links dropped; and its links in order."""
    chars = html.unescape(text).replace("\r\n", "\n")
    lo, hi = shown if shown else (0, len(chars))
    spans: list[tuple[int, int, Link | None]] = []
    wanted: list[tuple[str, int, int, Link | None]] = []
    for h in ents.get("hashtags") or []:
        tag = str(h.get("text") or "")
        link = Link(kind=LinkKind.HASHTAG, text=f"#{tag}", url=f"{BASE}/hashtag/{quote(tag)}")
        wanted.append((f"#{tag}", *_indices(h), link))
    for s in ents.get("symbols") or []:
        sym = str(s.get("text") or "")
        link = Link(kind=LinkKind.HASHTAG, text=f"${sym}", url=f"{BASE}/search?q=%24{quote(sym)}&src=cashtag_click")
        wanted.append((f"${sym}", *_indices(s), link))
    for m in ents.get("user_mentions") or []:
        sn = str(m.get("screen_name") or "")
        wanted.append((f"@{sn}", *_indices(m), Link(kind=LinkKind.MENTION, text=f"@{sn}", url=f"{BASE}/{sn}")))
    for u in ents.get("urls") or []:
        target = u.get("expanded_url") or u.get("url")
        hide = target in hidden_urls or u.get("url") in hidden_urls
        link = None if hide else Link(kind=LinkKind.LINK, text=str(u.get("display_url") or target), url=target)
        wanted.append((str(u.get("url") or ""), *_indices(u), link))
    for m in ents.get("media") or []:
        wanted.append((str(m.get("url") or ""), *_indices(m), None))
    for token, start, end, link in sorted(wanted, key=lambda w: w[1]):
        if not token:
            continue
        place = _locate(chars, token, start, end, [(a, b) for a, b, _ in spans])
        if place is None:
            continue
        if link is not None and link.kind is not LinkKind.LINK:  # as typed: "@nasa" stays "@nasa"
            link = link.model_copy(update={"text": chars[place[0]:place[1]]})
        spans.append((place[0], place[1], link))
    out: list[str] = []
    links: list[Link] = []
    pos = lo
    for start, end, link in sorted(spans, key=lambda s: s[0]):
        if start < lo or end > hi:
            continue
        out.append(chars[pos:start])
        if link is not None:
            out.append(link.text)
            links.append(link)
        pos = end
    out.append(chars[pos:hi])
    result = re.sub(r"[ \t]+\n", "\n", "".join(out)).strip()
    return re.sub(r"\n{3,}", "\n\n", result), links


def _indices(entity: Json) -> tuple[int, int]:
    idx = entity.get("indices") or [-1, -1]
    return int(idx[0]), int(idx[1])


def full_photo(url: str) -> str:
    """pbs.twimg.com/media/ID.jpg (or ?format=jpg&name=small) -> ?format=jpg&name=orig."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    path = parts.path
    m = re.match(r"^(/media/[^/.]+)\.(\w+)$", path)
    if m:
        path, query["format"] = m.group(1), m.group(2)
    if not path.startswith("/media/"):
        return url
    query.setdefault("format", "jpg")
    query["name"] = "orig"
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode({"format": query["format"], "name": "orig"}), ""))


def api_media(tweet: Json) -> list[Media]:
    legacy = tweet["legacy"]
    items = (legacy.get("extended_entities") or {}).get("media") or (legacy.get("entities") or {}).get("media") or []
    out: list[Media] = []
    for m in items:
        info = m.get("original_info") or {}
        size = {"width": info.get("width"), "height": info.get("height")}
        alt = m.get("ext_alt_text") or None
        kind = m.get("type")
        if kind == "photo":
            out.append(Media(type=MediaType.IMAGE, url=full_photo(m["media_url_https"]), alt=alt, **size))
        elif kind in ("video", "animated_gif"):
            variants = (m.get("video_info") or {}).get("variants") or []
            mp4 = [v for v in variants if v.get("content_type") == "video/mp4" and v.get("url")]
            best = max(mp4, key=lambda v: int(v.get("bitrate") or 0)) if mp4 else (variants[0] if variants else None)
            if best is None:
                continue
            out.append(Media(
                type=MediaType.GIF if kind == "animated_gif" else MediaType.VIDEO, url=best["url"], alt=alt,
                poster_url=m.get("media_url_https"), **size,
            ))
    return out


def api_time(raw: str | None) -> datetime | None:
    """created_at: 'Wed May 15 16:12:30 +0000 2024'."""
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%a %b %d %H:%M:%S %z %Y").astimezone(timezone.utc)
    except ValueError:
        return parse_time(raw)


def api_counts(tweet: Json) -> list[Count]:
    legacy = tweet["legacy"]
    pairs = [("replies", legacy.get("reply_count")), ("reposts", legacy.get("retweet_count")),
             ("likes", legacy.get("favorite_count")), ("quotes", legacy.get("quote_count")),
             ("bookmarks", legacy.get("bookmark_count")), ("views", (tweet.get("views") or {}).get("count"))]
    return [c for name, n in pairs if n is not None and (c := count(name, str(n))) is not None]


# -- the rendered page ------------------------------------------------------------------------


def focal_selector(tweet_id: str) -> str:
    return f'{ARTICLE}:has(a[href$="/status/{tweet_id}"] time)'


def focal_article(ev: PageEvidence, tweet_id: str) -> HtmlElement | None:
    """The status page's own tweet: the article whose permalink (the link around its <time>) is this id."""
    for art in ev.select(ARTICLE):
        for a in art.cssselect("a[href]"):
            if urlsplit(a.get("href") or "").path.rstrip("/").endswith(f"/status/{tweet_id}") and a.cssselect("time"):
                return art
    return None


def in_quote(el: HtmlElement, art: HtmlElement) -> bool:
    """Inside the quoted post's card (div[role=link]) of the article, not the article's own content."""
    for anc in el.iterancestors():
        if anc is art:
            return False
        if anc.get("role") == "link" and anc.tag != "a":
            return True
    return False


def dom_counts(art: HtmlElement, tweet_id: str) -> list[Count]:
    out: list[Count] = []
    for testid, used, name in BUTTONS:
        btn = art.cssselect(f'[data-testid="{testid}"], [data-testid="{used}"]')
        if not btn:
            continue
        shown = btn[0].cssselect('[data-testid="app-text-transition-container"]')
        c = count(name, shown[0].text_content() if shown else None)
        if c is not None:
            out.append(c)
    views = None
    for a in art.cssselect('a[href$="/analytics"]'):
        if urlsplit(a.get("href") or "").path.endswith(f"/status/{tweet_id}/analytics"):
            shown = a.cssselect('[data-testid="app-text-transition-container"]')
            views = shown[0].text_content() if shown else None
            if views is None:
                m = VIEWS_TEXT.search(a.text_content())
                views = m.group(1) if m else None
            break
    if views is None:
        m = VIEWS_TEXT.search(" ".join(art.text_content().split()))
        views = m.group(1) if m else None
    c = count("views", views)
    if c is not None:
        out.append(c)
    return out


def dom_text(el: HtmlElement, ev: PageEvidence) -> tuple[str, list[Link]]:
    """div[data-testid=tweetText] as shown: the parts of a t.co link X hides (aria-hidden
    "https://" and the cut-off tail) are left out, its "…" kept; together they spell the
    link's destination, used as its URL. Inside tweetText every <div> is inline (mentions sit
    in div.r-xoduu5, inline-flex); line breaks are the text's own. X's own links (mentions,
    hashtags) are given as https://x.com/<path>."""
    copy = deepcopy(el)
    for div in copy.iterdescendants("div"):
        div.tag = "span"
    targets: dict[str, str] = {}
    for a in copy.cssselect("a[href]"):
        hidden = a.cssselect("span[aria-hidden=true]")
        if not hidden:
            continue
        spelled = a.text_content().strip().removesuffix("…")
        for span in hidden:
            if (span.text_content() or "").strip() != "…":
                drop(span)
        if re.match(r"^https?://\S+$", spelled):
            targets[a.text_content().strip()] = spelled
    text, links = text_and_links(copy, ev)
    out = []
    for link in links:
        href = urlsplit(link.url or "")
        if link.text in targets:
            link = link.model_copy(update={"url": targets[link.text]})
        elif href.hostname == ev.host and href.path.startswith("/"):
            link = link.model_copy(update={"url": BASE + href.path})
        out.append(link)
    return text, out


def drop(el: HtmlElement) -> None:
    """Remove an element, keeping the text that follows it."""
    parent, prev, tail = el.getparent(), el.getprevious(), el.tail or ""
    if prev is not None:
        prev.tail = (prev.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(el)


def dom_media(art: HtmlElement, ev: PageEvidence) -> list[Media]:
    out: list[Media] = []
    for el in art.cssselect('[data-testid="tweetPhoto"] img, [data-testid="videoPlayer"] video'):
        if in_quote(el, art):
            continue
        if el.tag == "img":
            src = ev.absolute(el.get("src"))
            if src and "/media/" in src:
                alt = el.get("alt")
                out.append(Media(type=MediaType.IMAGE, url=full_photo(src), alt=None if alt in (None, "", "Image") else alt))
            continue
        sources = [ev.absolute(s.get("src")) for s in el.cssselect("source[src]")] + [ev.absolute(el.get("src"))]
        src = next((s for s in sources if s and not s.startswith("blob:")), None)
        if src:
            kind = MediaType.GIF if "/tweet_video/" in src else MediaType.VIDEO
            label = el.get("aria-label")
            out.append(Media(type=kind, url=src, poster_url=ev.absolute(el.get("poster")),
                             alt=None if label in (None, "", "Embedded video") else label))
    return out


def dom_author(art: HtmlElement, ev: PageEvidence) -> Author:
    names = art.cssselect('[data-testid="User-Name"]')
    if not names:
        return Author()
    box = names[0]
    links = box.cssselect("a[href]")
    display = text_and_links(links[0], ev)[0] if links else None
    handle = next((s.text_content().strip() for s in box.cssselect("span") if s.text_content().strip().startswith("@")), None)
    avatar = art.cssselect('[data-testid="Tweet-User-Avatar"] img[src], [data-testid^="UserAvatar-Container-"] img[src]')
    return Author(
        display_name=display or None,
        handle=handle,
        url=f"{BASE}/{handle[1:]}" if handle else None,
        avatar_url=ev.absolute(avatar[0].get("src")) if avatar else None,
        verified=bool(box.cssselect('[data-testid="icon-verified"], svg[aria-label="Verified account"]')),
    )


# -- behaviours -------------------------------------------------------------------------------

CLOSE_LOGIN_JS = r"""async (args) => {
  const actions = [];
  const visible = (el) => { if (!el || !el.isConnected) return false; const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  for (const sheet of document.querySelectorAll('[data-testid="sheetDialog"]')) {
    if (!visible(sheet) || sheet.querySelector('input')) continue;
    const close = sheet.querySelector('[data-testid="app-bar-close"], [aria-label="Close"][role="button"], button[aria-label="Close"]');
    if (close) { close.click(); actions.push('closed the sign-up sheet ([data-testid=sheetDialog] [data-testid=app-bar-close])'); }
  }
  const bar = document.querySelector('[data-testid="BottomBar"]');
  if (bar) {
    let el = bar;
    while (el.parentElement && el.parentElement.id !== 'layers' && getComputedStyle(el).position !== 'fixed') el = el.parentElement;
    if (el.style.display !== 'none') { el.style.display = 'none'; actions.push("hid the 'Don’t miss what’s happening' bar ([data-testid=BottomBar])"); }
  }
  if (actions.length) await new Promise((r) => setTimeout(r, 200));
  return {actions, more: actions.length > 0 && args.round < 2};
}"""

SHOW_MORE_JS = r"""async (args) => {
  const actions = [];
  const id = (location.pathname.match(/\/status\/(\d+)/) || [])[1];
  for (const el of document.querySelectorAll('[data-testid="tweet-text-show-more-link"]')) {
    if (el.tagName === 'A') continue;  // a link opens the post's own page: leaving this one is not wanted
    const art = el.closest('article');
    const mine = art && id && art.querySelector('a[href$="/status/' + id + '"] time');
    el.click();
    actions.push(`expanded 'Show more' of ${mine ? 'the post' : 'a reply'} ([data-testid=tweet-text-show-more-link])`);
    if (actions.length >= 20) break;
  }
  if (actions.length) await new Promise((r) => setTimeout(r, 300));
  return {actions, more: false};
}"""

REPLIES_JS = r"""async (args) => {
  const actions = [];
  if (!args.comments || args.round > Math.max(1, args.threadDepth)) return {actions, more: false};
  const words = /^(show more replies|show additional replies.*|show probable spam|show replies)$/i;
  const main = document.querySelector('[data-testid="primaryColumn"]') || document;
  for (const el of main.querySelectorAll('button, div[role="button"]')) {
    const text = (el.innerText || '').trim();
    if (!words.test(text) || el.disabled || el.closest('article')) continue;
    el.scrollIntoView({block: 'center'});
    el.click();
    actions.push(`clicked '${text}' (round ${args.round})`);
    break;
  }
  if (actions.length) {
    const t0 = Date.now();
    const before = document.querySelectorAll('article[data-testid="tweet"]').length;
    while (Date.now() - t0 < 2500 && document.querySelectorAll('article[data-testid="tweet"]').length === before) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const now = document.querySelectorAll('article[data-testid="tweet"]').length;
    actions.push(`${now - before} more replies shown`);
  }
  return {actions, more: actions.length > 0 && args.round < args.threadDepth};
}"""

BEHAVIOURS = (
    Behaviour(name="x-close-login", description="Close X's logged-out sign-up sheet and hide the 'Don’t miss what’s happening' bar.",
              script=CLOSE_LOGIN_JS, rounds=2, pause=0.2),
    Behaviour(name="x-show-more", description="Expand 'Show more' of long posts (buttons only, never a link away).",
              script=SHOW_MORE_JS, rounds=1),
    Behaviour(name="x-replies", description="Click 'Show more replies' under the post, up to threadDepth rounds, when comments are wanted.",
              script=REPLIES_JS, rounds=5, pause=0.5),
)


# -- the platform -----------------------------------------------------------------------------


@dataclass(frozen=True)
class X(Platform):
    name: str = "x"
    version: int = VERSION
    hosts: tuple[str, ...] = ("x.com", "twitter.com")
    behaviours: tuple[Behaviour, ...] = BEHAVIOURS

    def post_selectors(self, url: str) -> list[str]:
        tweet_id = status_id(url)
        first = [focal_selector(tweet_id)] if tweet_id else []
        return first + [f'{ARTICLE}[tabindex="-1"]', ARTICLE]

    def login_wall(self, ev: PageEvidence) -> str | None:
        tweet_id = status_id(ev.url) or status_id(ev.final_url)
        api = ApiTweets.read(ev)
        if tweet_id and (tweet_id in api.tweets or focal_article(ev, tweet_id) is not None):
            return None
        path = urlsplit(ev.final_url).path
        if LOGIN_PATHS.match(path):
            return f"X sent the page to its login flow ({path})"
        if tweet_id:
            for _, reason in api.unavailable:
                if any(r.lower() in reason.lower() for r in LOGIN_REASONS):
                    return f"X's API gave no post, only TweetUnavailable ({reason}): shown to logged-in users only"
        for dialog in ev.select('[role="dialog"]'):
            words = " ".join(dialog.text_content().split())
            if dialog.cssselect('input[autocomplete="username"], input[name="password"]') or re.search(r"\b(Sign|Log) in to X\b", words):
                return f"a login dialog ('{words[:60]}') and no post"
        for art in ev.select(ARTICLE):
            if re.search(r"log in to X", art.text_content(), re.I) and not art.cssselect('[data-testid="tweetText"]'):
                return "the post is hidden behind 'log in to X'"
        return None

    def extract(self, ev: PageEvidence) -> Post | None:
        tweet_id = status_id(ev.url) or status_id(ev.final_url)
        if not tweet_id:
            return None
        api = ApiTweets.read(ev)
        art = focal_article(ev, tweet_id)
        hit = api.tweets.get(tweet_id)
        if hit is not None:
            return self._from_api(ev, tweet_id, hit[0], hit[1], api, art)
        if art is not None:
            return self._from_dom(ev, tweet_id, art)
        return None

    def _from_api(self, ev: PageEvidence, tweet_id: str, locator: str, tweet: Json, api: ApiTweets,
                  art: HtmlElement | None) -> Post:
        legacy = tweet["legacy"]
        user = user_fields(tweet)
        screen = user["screen_name"]
        given: list[str] = ["url"]
        quoted = unwrap((tweet.get("quoted_status_result") or {}).get("result"))
        permalink = legacy.get("quoted_status_permalink") or {}
        hidden = {u for u in (permalink.get("expanded"), permalink.get("url")) if u}
        note = note_of(tweet)
        if note is not None:
            text, links = rich_text(note["text"], note.get("entity_set") or {}, None, hidden)
        else:
            rng = legacy.get("display_text_range")
            shown = (int(rng[0]), int(rng[1])) if isinstance(rng, list) and len(rng) == 2 else None
            text, links = rich_text(legacy.get("full_text") or "", legacy.get("entities") or {}, shown, hidden)
        author = Author(
            display_name=user["name"], handle=f"@{screen}" if screen else None, url=f"{BASE}/{screen}" if screen else None,
            id=user["id"], avatar_url=user["avatar"], verified=user["verified"],
        )
        given += [f"author.{k}" for k, v in author.model_dump().items() if v is not None]
        published = api_time(legacy.get("created_at"))
        lang = legacy.get("lang")
        language = lang if lang and lang not in NO_LANGUAGE else None
        media = api_media(tweet)
        relations = self._relations(tweet, quoted, api)
        given += [name for name, value in (("published", published), ("text", text), ("links", links),
                                           ("language", language), ("media", media)) if value]
        given += [f"relations.{k}" for k, v in relations.model_dump().items() if v]
        sources = [Source(kind=SourceKind.URL, locator=ev.url, fields=["id"]),
                   Source(kind=SourceKind.API_JSON, locator=locator, fields=given)]
        counts = dom_counts(art, tweet_id) if art is not None else []
        if counts:
            sources.append(Source(kind=SourceKind.DOM, locator=f'{focal_selector(tweet_id)} [role="group"], a[href$="/analytics"]',
                                  fields=["counts"]))
        else:
            counts = api_counts(tweet)
            if counts:
                sources[1].fields.append("counts")
        return Post(
            platform=self.name, id=str(tweet["rest_id"]), url=status_url(screen, str(tweet["rest_id"])), author=author,
            published=published, published_raw=legacy.get("created_at"), text=text or None, links=links,
            language=language, media=media, counts=counts, relations=relations, sources=sources,
            extraction=Extraction(extractor=self.name, version=self.version),
        )

    def _relations(self, tweet: Json, quoted: Json | None, api: ApiTweets) -> Relations:
        legacy = tweet["legacy"]
        reply_to = None
        if legacy.get("in_reply_to_status_id_str"):
            reply_to = api.url_of(legacy["in_reply_to_status_id_str"], legacy.get("in_reply_to_screen_name"))
        quote_of = None
        if quoted is not None:
            quote_of = status_url(user_fields(quoted)["screen_name"], str(quoted["rest_id"]))
        elif (legacy.get("quoted_status_permalink") or {}).get("expanded"):
            quote_of = normalise(legacy["quoted_status_permalink"]["expanded"])
        elif legacy.get("quoted_status_id_str"):
            quote_of = api.url_of(legacy["quoted_status_id_str"])
        repost_of = None
        original = unwrap((legacy.get("retweeted_status_result") or {}).get("result"))
        if original is not None:
            repost_of = status_url(user_fields(original)["screen_name"], str(original["rest_id"]))
        root = None
        conversation = legacy.get("conversation_id_str")
        if conversation and conversation != str(tweet["rest_id"]):
            same = legacy.get("in_reply_to_status_id_str") == conversation
            root = api.url_of(conversation, legacy.get("in_reply_to_screen_name") if same else None)
        return Relations(reply_to=reply_to, quote_of=quote_of, repost_of=repost_of, thread_root=root)

    def _from_dom(self, ev: PageEvidence, tweet_id: str, art: HtmlElement) -> Post:
        sel = focal_selector(tweet_id)
        author = dom_author(art, ev)
        given: list[str] = ["url"] + [f"author.{k}" for k, v in author.model_dump().items() if v is not None]
        body = [t for t in art.cssselect('[data-testid="tweetText"]') if not in_quote(t, art)]
        text, links, language = None, [], None
        if body:
            text, links = dom_text(body[0], ev)
            language = body[0].get("lang") or None
            language = language if language not in NO_LANGUAGE else None
        published_raw = None
        for a in art.cssselect("a[href]"):
            if urlsplit(a.get("href") or "").path.rstrip("/").endswith(f"/status/{tweet_id}") and a.cssselect("time[datetime]"):
                published_raw = a.cssselect("time[datetime]")[0].get("datetime")
                break
        media = dom_media(art, ev)
        counts = dom_counts(art, tweet_id)
        given += [n for n, v in (("published", published_raw), ("text", text), ("links", links), ("language", language),
                                 ("media", media), ("counts", counts)) if v]
        handle = author.handle[1:] if author.handle else url_handle(ev.url)
        return Post(
            platform=self.name, id=tweet_id, url=status_url(handle, tweet_id), author=author,
            published=parse_time(published_raw), published_raw=published_raw, text=text or None, links=links,
            language=language, media=media, counts=counts,
            sources=[Source(kind=SourceKind.URL, locator=ev.url, fields=["id"]),
                     Source(kind=SourceKind.DOM, locator=sel, fields=given)],
            extraction=Extraction(extractor=self.name, version=self.version),
        )


def normalise(url: str) -> str:
    """A status URL as x.com writes it (twitter.com, mobile., http and query dropped)."""
    m = STATUS_PATH.match(urlsplit(url).path)
    if not m:
        return url
    return status_url(m.group("handle"), m.group("id"))


PLATFORM = X()
