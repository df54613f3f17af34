"""TikTok: a video (or photo) page www.tiktok.com/@<user>/video/<id>.

Read from the page's own state first: <script id="__UNIVERSAL_DATA_FOR_REHYDRATION__">
(`__DEFAULT_SCOPE__["webapp.video-detail"].itemInfo.itemStruct`), the older SIGI_STATE
(`ItemModule[id]`), or a recorded `/api/item/detail/` response (same itemStruct); the DOM's
data-e2e attributes give the counts as displayed and a fallback. See docs/platforms/tiktok.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from ..capture.behaviours.runner import Behaviour
from .base import Platform, count, parse_time, text_and_links
from .evidence import PageEvidence
from .models import Author, Count, Extraction, Link, LinkKind, Media, MediaType, Post, Source, SourceKind

NAME = "tiktok"
VERSION = 1
BASE = "https://www.tiktok.com"
POST_PATH = re.compile(r"^/@([^/?#]*)/(video|photo)/(\d+)")
UNIVERSAL = "script#__UNIVERSAL_DATA_FOR_REHYDRATION__"
SIGI = "script#SIGI_STATE, script#sigi-persisted-data"
API_DETAIL = r"tiktok\.com(:\d+)?/api/item/detail/"
PRIVATE = {10216: "private post", 10222: "private account"}
# name -> (itemStruct.stats key, DOM data-e2e of the displayed count or None)
COUNTS = (
    ("likes", "diggCount", "like-count"),
    ("comments", "commentCount", "comment-count"),
    ("shares", "shareCount", "share-count"),
    ("bookmarks", "collectCount", "undefined-count"),
    ("views", "playCount", None),
)
DESC_CSS = '[data-e2e="browse-video-desc"], [data-e2e="video-desc"]'
LOGIN_CSS = '[data-e2e="login-title"], #loginContainer, [data-e2e="login-modal"]'


@dataclass
class Found:
    """The itemStruct and where it came from."""

    item: dict[str, Any]
    kind: SourceKind
    locator: str


def video_id(url: str) -> str | None:
    m = POST_PATH.match(urlsplit(url).path)
    return m.group(3) if m else None


def _detail(ev: PageEvidence) -> dict[str, Any]:
    for data in ev.script_json(UNIVERSAL):
        detail = (data.get("__DEFAULT_SCOPE__") or {}).get("webapp.video-detail") if isinstance(data, dict) else None
        if isinstance(detail, dict):
            return detail
    return {}


def find_item(ev: PageEvidence, wanted: str | None) -> Found | None:
    """The post's itemStruct from the embedded state, SIGI_STATE, or the item detail API."""
    detail = _detail(ev)
    item = (detail.get("itemInfo") or {}).get("itemStruct")
    if isinstance(item, dict) and item.get("id") and (wanted is None or str(item["id"]) == wanted):
        locator = f'{UNIVERSAL} __DEFAULT_SCOPE__["webapp.video-detail"].itemInfo.itemStruct'
        return Found(item, SourceKind.EMBEDDED_JSON, locator)
    for data in ev.script_json(SIGI):
        items = data.get("ItemModule") if isinstance(data, dict) else None
        if isinstance(items, dict) and wanted in items:
            item = dict(items[wanted])
            users = (data.get("UserModule") or {}).get("users") or {}
            if isinstance(item.get("author"), str) and item["author"] in users:
                item["author"] = users[item["author"]]
            return Found(item, SourceKind.EMBEDDED_JSON, f"script#SIGI_STATE ItemModule[{wanted}]")
    for url, data in ev.api_json(API_DETAIL):
        item = ((data or {}).get("itemInfo") or {}).get("itemStruct") if isinstance(data, dict) else None
        if isinstance(item, dict) and item.get("id") and (wanted is None or str(item["id"]) == wanted):
            return Found(item, SourceKind.API_JSON, url)
    return None


# -- reading an itemStruct ---------------------------------------------------------------


def _author(item: dict[str, Any]) -> Author:
    raw = item.get("author")
    a = raw if isinstance(raw, dict) else {}
    handle = a.get("uniqueId") or (raw if isinstance(raw, str) else None)
    return Author(
        display_name=a.get("nickname") or None,
        handle=f"@{handle}" if handle else None,
        url=f"{BASE}/@{handle}" if handle else None,
        id=str(a["id"]) if a.get("id") else None,
        avatar_url=a.get("avatarLarger") or a.get("avatarMedium") or a.get("avatarThumb") or None,
        verified=bool(a["verified"]) if "verified" in a else None,
    )


def _links(item: dict[str, Any]) -> list[Link]:
    links = []
    extras = [e for e in item.get("textExtra") or [] if isinstance(e, dict)]
    for e in sorted(extras, key=lambda e: e.get("start") or 0):
        if e.get("hashtagName"):
            name = e["hashtagName"]
            links.append(Link(kind=LinkKind.HASHTAG, text=f"#{name}", url=f"{BASE}/tag/{quote(name)}"))
        elif e.get("userUniqueId"):
            user = e["userUniqueId"]
            links.append(Link(kind=LinkKind.MENTION, text=f"@{user}", url=f"{BASE}/@{user}"))
    return links


def _play_url(video: dict[str, Any]) -> str | None:
    play = video.get("playAddr")
    if isinstance(play, list):  # newer pages: a list of {src, ...}
        play = next((p.get("src") for p in play if isinstance(p, dict) and p.get("src")), None)
    if not play:
        for info in video.get("bitrateInfo") or []:
            urls = ((info or {}).get("PlayAddr") or {}).get("UrlList") or []
            if urls:
                return str(urls[0])
    return play or video.get("downloadAddr") or None


def _media(item: dict[str, Any]) -> list[Media]:
    images = ((item.get("imagePost") or {}).get("images")) or []
    if images:  # a photo post (slideshow)
        out = []
        for img in images:
            urls = ((img or {}).get("imageURL") or {}).get("urlList") or []
            if urls:
                out.append(Media(type=MediaType.IMAGE, url=urls[0], width=img.get("imageWidth"), height=img.get("imageHeight")))
        return out
    video = item.get("video") or {}
    url = _play_url(video)
    if not url:
        return []
    return [
        Media(
            type=MediaType.VIDEO,
            url=url,
            width=int(video["width"]) if video.get("width") else None,
            height=int(video["height"]) if video.get("height") else None,
            poster_url=video.get("originCover") or video.get("cover") or None,
        )
    ]


def _shown_count(ev: PageEvidence, e2e: str | None) -> str | None:
    if e2e is None:
        return None
    el = ev.first(f'strong[data-e2e="{e2e}"], [data-e2e="{e2e}"]')
    text = el.text_content().strip() if el is not None else ""
    return text if re.search(r"\d", text) else None


def _counts(ev: PageEvidence, item: dict[str, Any], found: Found) -> tuple[list[Count], list[Source]]:
    stats = item.get("stats") or {}
    stats_v2 = item.get("statsV2") or {}
    counts, sources = [], []
    dom_fields, json_fields = [], []
    for name, key, e2e in COUNTS:
        shown = _shown_count(ev, e2e)
        if shown is not None:
            c = count(name, shown)
            dom_fields.append((name, e2e))
        else:
            raw = stats_v2.get(key, stats.get(key))
            c = count(name, str(raw)) if raw is not None else None
            if c is not None:
                json_fields.append(name)
        if c is not None:
            counts.append(c)
    for name, e2e in dom_fields:
        sources.append(Source(kind=SourceKind.DOM, locator=f'[data-e2e="{e2e}"]', fields=[f"counts.{name}"]))
    if json_fields:
        sources.append(Source(kind=found.kind, locator=found.locator + ".stats", fields=[f"counts.{n}" for n in json_fields]))
    return counts, sources


def from_item(ev: PageEvidence, found: Found) -> Post:
    item = found.item
    author = _author(item)
    vid = str(item["id"])
    handle = (author.handle or "@")[1:]
    kind = "photo" if (item.get("imagePost") or {}).get("images") else "video"
    raw_time = item.get("createTime")
    lang = item.get("textLanguage")
    counts, count_sources = _counts(ev, item, found)
    fields = ["id", "url", "author", "published", "text", "links", "media"] + (["language"] if lang and lang != "un" else [])
    return Post(
        platform=NAME,
        id=vid,
        url=f"{BASE}/@{handle}/{kind}/{vid}",
        author=author,
        published=parse_time(raw_time),
        published_raw=str(raw_time) if raw_time not in (None, "") else None,
        text=item.get("desc") or None,
        links=_links(item),
        language=lang if lang and lang != "un" else None,
        media=_media(item),
        counts=counts,
        sources=[Source(kind=found.kind, locator=found.locator, fields=fields), *count_sources],
        extraction=Extraction(extractor=NAME, version=VERSION),
    )


# -- without the state: the DOM as shown ------------------------------------------------


def from_dom(ev: PageEvidence, vid: str | None) -> Post | None:
    desc = ev.first(DESC_CSS)
    video = ev.first('[data-e2e="browse-video"] video, video')
    if desc is None and video is None:
        return None
    text, links = text_and_links(desc, ev) if desc is not None else ("", [])
    user = ev.first('[data-e2e="browse-username"]')
    handle = user.text_content().strip().lstrip("@") if user is not None else None
    if not handle:
        m = POST_PATH.match(urlsplit(ev.final_url).path)
        handle = m.group(1) if m else None
    nick = ev.first('[data-e2e="browser-nickname"] span')
    if nick is None:
        nick = ev.first('[data-e2e="browser-nickname"]')
    media = []
    src = None
    if video is not None:
        src = video.get("src") or next(iter(video.xpath(".//source/@src")), None)
    if src and not src.startswith("blob:"):
        media.append(Media(type=MediaType.VIDEO, url=ev.absolute(src) or src, poster_url=ev.absolute(video.get("poster"))))
    counts = [c for name, _key, e2e in COUNTS if (c := count(name, _shown_count(ev, e2e))) is not None]
    sources = [Source(kind=SourceKind.DOM, locator=DESC_CSS, fields=["text", "links"])] if desc is not None else []
    if user is not None:
        sources.append(Source(kind=SourceKind.DOM, locator='[data-e2e="browse-username"]', fields=["author"]))
    if media:
        sources.append(Source(kind=SourceKind.DOM, locator="video", fields=["media"]))
    sources += [Source(kind=SourceKind.DOM, locator=f'[data-e2e="{e2e}"]', fields=[f"counts.{n}"]) for n, _k, e2e in COUNTS if _shown_count(ev, e2e)]
    sources.append(Source(kind=SourceKind.URL, locator=ev.final_url, fields=["id", "url"]))
    return Post(
        platform=NAME,
        id=vid,
        url=f"{BASE}/@{handle}/video/{vid}" if vid and handle else ev.final_url,
        author=Author(
            display_name=nick.text_content().strip() if nick is not None else None,
            handle=f"@{handle}" if handle else None,
            url=f"{BASE}/@{handle}" if handle else None,
        ),
        text=text or None,
        links=links,
        media=media,
        counts=counts,
        sources=sources,
        extraction=Extraction(extractor=NAME, version=VERSION),
    )


# -- behaviours -------------------------------------------------------------------------

CLOSE_LOGIN_JS = r"""async (args) => {
  const actions = [];
  const sel = '[data-e2e="modal-close-inner-button"]';
  const visible = (el) => !!el && el.isConnected && el.getClientRects().length > 0;
  const until = Date.now() + 1500;  // the modal opens a moment after the page
  let btn = document.querySelector(sel);
  while (!visible(btn) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 150));
    btn = document.querySelector(sel);
  }
  if (visible(btn)) {
    const title = (document.querySelector('[data-e2e="login-title"]') || {}).innerText || 'login';
    (btn.closest('button, [role="button"]') || btn).click();
    actions.push(`closed the '${title.trim().slice(0, 40)}' modal (${sel})`);
  }
  return {actions, more: false};
}"""

COMMENTS_JS = r"""async (args) => {
  const actions = [];
  if (!args.comments) return {actions, more: false};
  const wait = async (test, ms) => {
    const until = Date.now() + ms;
    while (!test() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    return test();
  };
  const items = () => document.querySelectorAll('[data-e2e="comment-level-1"]').length;
  if (args.round === 1) {
    if (!items()) {
      const icon = document.querySelector('[data-e2e="comment-icon"]');
      if (!icon) return {actions, more: false};
      (icon.closest('button, [role="button"]') || icon).click();
      const ok = await wait(() => items() > 0, 3000);
      actions.push(ok ? `opened the comments: ${items()} shown ([data-e2e="comment-icon"])`
                      : 'clicked [data-e2e="comment-icon"] but no comments appeared');
    }
    return {actions, more: args.threadDepth > 0 && !!document.querySelector('[data-e2e^="view-more"]')};
  }
  const replies = () => document.querySelectorAll('[data-e2e="comment-level-2"]').length;
  const before = replies();
  const buttons = Array.from(document.querySelectorAll('[data-e2e^="view-more"]'))
    .filter((b) => /view|more|repl/i.test(b.innerText || '')).slice(0, 10);
  for (const b of buttons) b.click();
  if (buttons.length) {
    await wait(() => replies() > before, 3000);
    actions.push(`opened ${buttons.length} reply thread(s): ${replies() - before} replies shown ([data-e2e^="view-more"])`);
  }
  const more = args.round <= args.threadDepth && buttons.length > 0 && !!document.querySelector('[data-e2e^="view-more"]');
  return {actions, more};
}"""

BEHAVIOURS = (
    Behaviour(
        name="tiktok-login-modal",
        description="Close TikTok's 'Log in to TikTok' modal that covers the video ([data-e2e=modal-close-inner-button]).",
        script=CLOSE_LOGIN_JS,
    ),
    Behaviour(
        name="tiktok-comments",
        description="Open the comment panel (comment icon) and, up to threadDepth rounds, 'View N replies'.",
        script=COMMENTS_JS,
        rounds=21,
        pause=0.3,
    ),
)


@dataclass(frozen=True)
class TikTok(Platform):
    name: str = NAME
    version: int = VERSION
    hosts: tuple[str, ...] = ("tiktok.com",)
    behaviours: tuple[Behaviour, ...] = BEHAVIOURS

    def post_selectors(self, url: str) -> list[str]:
        return [
            '#main-content-video_detail [class*="DivVideoDetailContainer"]',
            "#main-content-video_detail",
            '[data-e2e="browse-video"]',
        ]

    def login_wall(self, ev: PageEvidence) -> str | None:
        path = urlsplit(ev.final_url).path
        if path.startswith("/login") and not path.startswith("/login/download"):
            return f"the page redirected to TikTok's login page ({ev.final_url})"
        vid = video_id(ev.final_url) or video_id(ev.url)
        found = find_item(ev, vid)
        if found is not None:
            item = found.item
            if not item.get("video") and not item.get("imagePost") and item.get("isContentClassified"):
                return "TikTok marks the post as age-restricted (isContentClassified) and shows it only after a login"
            return None
        status = int(_detail(ev).get("statusCode") or 0)
        if status in PRIVATE:
            return f"TikTok answered statusCode {status} ({PRIVATE[status]}): only a logged-in account with access sees it"
        if ev.select(LOGIN_CSS) and ev.first(DESC_CSS) is None:
            return "TikTok shows its login dialog and no video"
        return None

    def extract(self, ev: PageEvidence) -> Post | None:
        vid = video_id(ev.final_url) or video_id(ev.url)
        found = find_item(ev, vid)
        if found is not None:
            return from_item(ev, found)
        if vid is None:
            return None
        return from_dom(ev, vid)


PLATFORM = TikTok()
