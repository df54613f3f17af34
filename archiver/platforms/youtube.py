"""YouTube: watch pages and Shorts. Markup relied on: docs/platforms/youtube.md.

youtube.com/watch?v=ID, youtu.be/ID (redirects to the watch page), /shorts/ID, /live/ID.
The page carries its data as script blobs: `var ytInitialPlayerResponse = {...};` (the
video: videoDetails, microformat.playerMicroformatRenderer, captions) and
`var ytInitialData = {...};` (owner, like button, description links, comment count); a
page reached by in-app navigation has the same JSON in recorded /youtubei/v1/player and
/youtubei/v1/next responses. The video itself streams in pieces from googlevideo.com and
cannot be taken from the page: the watch URL is reported as the video (the media stage
hands it to yt-dlp), with the maxresdefault thumbnail as an image.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..capture.behaviours.runner import Behaviour
from .base import Platform, count, link_kind, parse_time
from .evidence import PageEvidence
from .models import Author, Count, Extraction, Link, Media, MediaType, Post, Source, SourceKind

VERSION = 1
HOSTS = ("youtube.com", "youtu.be", "youtube-nocookie.com")
VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
NUMBER = re.compile(r"\d(?:[\d.,\u00a0\u202f ]*\d)?")
WALL_HOSTS = {"consent.youtube.com": "the YouTube cookie consent page (consent.youtube.com) was shown; the video page did not load",
              "accounts.google.com": "YouTube sent the browser to Google sign-in (accounts.google.com)"}
WALL_STATUS = ("LOGIN_REQUIRED", "AGE_CHECK_REQUIRED", "CONTENT_CHECK_REQUIRED")
PLAYER_SCRIPT = "script: var ytInitialPlayerResponse"
DATA_SCRIPT = "script: var ytInitialData"

PLAY_JS = r"""async (args) => {
  const actions = [];
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const box = document.querySelector('#movie_player, ytd-reel-video-renderer[is-active] .html5-video-player, .html5-video-player');
  const video = (box && box.querySelector('video')) || document.querySelector('video.html5-main-video');
  if (!video) return {actions, more: false};
  const skip = document.querySelector('.ytp-skip-ad-button, .ytp-ad-skip-button, .ytp-ad-skip-button-modern');
  if (skip && skip.offsetParent !== null) { skip.click(); actions.push('skipped the ad (.ytp-skip-ad-button)'); }
  const ad = () => !!(box && box.classList.contains('ad-showing'));
  if (!video.paused && !ad()) {
    if (args.round === 1) actions.push('the video was already playing');
    return {actions, more: false};
  }
  try { if (box && typeof box.mute === 'function') box.mute(); } catch (e) { /* the element's API may be missing */ }
  video.muted = true;
  let how;
  const big = document.querySelector('.ytp-large-play-button');
  if (box && typeof box.playVideo === 'function') { box.playVideo(); how = `the player API (#${box.id || 'player'}.playVideo)`; }
  else if (big && big.offsetParent !== null) { big.click(); how = 'the large play button (.ytp-large-play-button)'; }
  else { try { await video.play(); } catch (e) { /* reported below */ } how = 'video.play()'; }
  const t0 = Date.now();
  while ((video.paused || video.currentTime < 0.3) && Date.now() - t0 < 2500) await sleep(100);
  actions.push(video.paused ? `the video did not start (${how})`
    : `started the video muted with ${how}${ad() ? ' (an ad is playing)' : ''}`);
  return {actions, more: ad()};
}"""

EXPAND_JS = r"""async (args) => {
  const actions = [];
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const expander = document.querySelector('ytd-watch-metadata ytd-text-inline-expander, #description-inline-expander');
  const more = expander && expander.querySelector('#expand');
  if (more && !expander.hasAttribute('is-expanded') && more.offsetParent !== null) {
    more.click();
    actions.push("expanded the description ('...more', #description-inline-expander #expand)");
  }
  const comments = document.querySelector('ytd-comments#comments');
  if (args.comments && comments && !comments.querySelector('ytd-comment-thread-renderer')) {
    comments.scrollIntoView({block: 'start'});
    const t0 = Date.now();
    while (!comments.querySelector('ytd-comment-thread-renderer') && Date.now() - t0 < 3000) await sleep(150);
    const n = comments.querySelectorAll('ytd-comment-thread-renderer').length;
    actions.push(n ? `loaded the first page of comments (${n} threads, ytd-comments#comments)` : 'the comments did not load within 3 s');
    window.scrollTo(0, 0);
  }
  return {actions, more: false};
}"""

BEHAVIOURS = (
    Behaviour(name="youtube-play", description="Start the video muted through the player (skipping an ad) so its stream is recorded.",
              script=PLAY_JS, rounds=3, pause=1.0,
              world="page"),  # #movie_player.playVideo/mute are the page's own expandos
    Behaviour(name="youtube-expand", description="Open the description ('...more') and, with comments on, load their first page.",
              script=EXPAND_JS, rounds=1),
)


# -- URLs -----------------------------------------------------------------------------------


def parse_url(url: str) -> tuple[str, str] | None:
    """(video id, "watch" | "shorts") of a YouTube video URL; scheme and port ignored."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    vid = None
    if host == "youtu.be":
        vid = parts.path.strip("/").split("/")[0]
    elif any(host == h or host.endswith("." + h) for h in HOSTS) and host not in WALL_HOSTS:
        if parts.path.rstrip("/") == "/watch":
            vid = (parse_qs(parts.query).get("v") or [""])[0]
        else:
            m = re.match(r"^/(shorts|live|embed|v)/([^/?#]+)", parts.path)
            vid = m.group(2) if m else None
    if not vid or not VIDEO_ID.match(vid):
        return None
    return vid, "shorts" if parts.path.startswith("/shorts/") else "watch"


def canonical(vid: str, kind: str) -> str:
    return f"https://www.youtube.com/shorts/{vid}" if kind == "shorts" else f"https://www.youtube.com/watch?v={vid}"


# -- JSON helpers ---------------------------------------------------------------------------


def walk(obj: Any) -> Iterator[dict[str, Any]]:
    """Every dict inside `obj`, depth first, in document order."""
    stack = [obj]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))


def dig(obj: Any, *path: str | int) -> Any:
    for key in path:
        if isinstance(obj, dict) and isinstance(key, str):
            obj = obj.get(key)
        elif isinstance(obj, list) and isinstance(key, int) and -len(obj) <= key < len(obj):
            obj = obj[key]
        else:
            return None
    return obj


def text_of(value: Any) -> str | None:
    """{"simpleText": ...} or {"runs": [{"text": ...}]} -> the text."""
    if isinstance(value, dict):
        if isinstance(value.get("simpleText"), str):
            return value["simpleText"]
        runs = value.get("runs")
        if isinstance(runs, list):
            return "".join(r.get("text", "") for r in runs if isinstance(r, dict))
        if isinstance(value.get("content"), str):
            return value["content"]
    return value if isinstance(value, str) else None


def number_in(label: str | None) -> str | None:
    """'like this video along with 1,204 other people' -> '1,204'."""
    m = NUMBER.search(label or "")
    return m.group(0).strip() if m else None


def script_var(ev: PageEvidence, name: str) -> dict[str, Any] | None:
    """`var NAME = {...};` (or window["NAME"] = {...}) from an inline script, parsed."""
    marker = re.compile(r"(?:\bvar\s+|window\[['\"])" + re.escape(name) + r"(?:['\"]\])?\s*=\s*(?=\{)")
    decoder = json.JSONDecoder()
    for script in ev.doc.xpath("//script[not(@src)]"):
        source = script.text or ""
        m = marker.search(source)
        if not m:
            continue
        try:
            value, _ = decoder.raw_decode(source, m.end())
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


@dataclass
class Blobs:
    """The JSON a watch/shorts page holds for one video, and where each part was found."""

    player: dict[str, Any] | None = None
    player_at: tuple[SourceKind, str] | None = None
    data: list[tuple[SourceKind, str, dict[str, Any]]] = field(default_factory=list)

    @classmethod
    def read(cls, ev: PageEvidence, vid: str) -> "Blobs":
        found = cls()
        player = script_var(ev, "ytInitialPlayerResponse")
        if dig(player, "videoDetails", "videoId") == vid:
            found.player, found.player_at = player, (SourceKind.EMBEDDED_JSON, PLAYER_SCRIPT)
        else:
            for url, body in ev.api_json(r"/youtubei/v1/player"):
                if dig(body, "videoDetails", "videoId") == vid:
                    found.player, found.player_at = body, (SourceKind.API_JSON, url)
        data = script_var(ev, "ytInitialData")
        if data is not None and current_video(data) in (None, vid):
            found.data.append((SourceKind.EMBEDDED_JSON, DATA_SCRIPT, data))
        for url, body in ev.api_json(r"/youtubei/v1/next"):
            if isinstance(body, dict) and current_video(body) in (None, vid):
                found.data.append((SourceKind.API_JSON, url, body))
        return found

    def first(self, pick) -> tuple[Any, tuple[SourceKind, str]] | None:
        """The first value `pick(data)` finds in ytInitialData, then the /next responses."""
        for kind, locator, data in self.data:
            value = pick(data)
            if value not in (None, "", []):
                return value, (kind, locator)
        return None


def current_video(data: dict[str, Any]) -> str | None:
    return dig(data, "currentVideoEndpoint", "watchEndpoint", "videoId") or dig(
        data, "currentVideoEndpoint", "reelWatchEndpoint", "videoId")


# -- readers over ytInitialData -------------------------------------------------------------


def owner_renderer(data: dict[str, Any]) -> dict[str, Any] | None:
    for d in walk(data):
        for key in ("videoOwnerRenderer", "reelPlayerHeaderRenderer"):
            if isinstance(d.get(key), dict):
                return d[key]
    return None


def handle_path(data: dict[str, Any], channel_id: str | None) -> str | None:
    """'/@name' of the channel: a browseEndpoint to the video's channel."""
    for d in walk(data):
        be = d.get("browseEndpoint")
        if isinstance(be, dict) and str(be.get("canonicalBaseUrl", "")).startswith("/@") and (
                channel_id is None or be.get("browseId") == channel_id):
            return be["canonicalBaseUrl"]
    return None


def avatar(data: dict[str, Any]) -> str | None:
    owner = owner_renderer(data) or {}
    thumbs = dig(owner, "thumbnail", "thumbnails") or dig(owner, "channelThumbnail", "thumbnails") or []
    best = max((t for t in thumbs if isinstance(t, dict) and t.get("url")), key=lambda t: t.get("width") or 0, default=None)
    return best["url"] if best else None


def verified(data: dict[str, Any]) -> bool | None:
    """The owner's verified badge; False when the owner block is there without one."""
    owner = owner_renderer(data)
    if owner is None:
        return None
    styles = [dig(b, "metadataBadgeRenderer", "style") for b in owner.get("badges") or []]
    if any(str(s).startswith("BADGE_STYLE_TYPE_VERIFIED") for s in styles):
        return True
    return False if "badges" in owner or "subscriberCountText" in owner else None


def like_label(data: dict[str, Any]) -> str | None:
    """The like count as the like button states it (its accessibility label, else its text)."""
    for d in walk(data):
        if d.get("iconName") == "LIKE" and ("accessibilityText" in d or "title" in d):
            return number_in(d.get("accessibilityText")) or (d.get("title") or None)
        if isinstance(d.get("likeButtonRenderer"), dict):
            r = d["likeButtonRenderer"]
            shown = r.get("likeCountText") or r.get("likeCountWithLikeText")
            return number_in(dig(shown, "accessibility", "accessibilityData", "label")) or text_of(shown)
        if dig(d, "toggleButtonRenderer", "defaultIcon", "iconType") == "LIKE":
            shown = dig(d, "toggleButtonRenderer", "defaultText")
            return number_in(dig(shown, "accessibility", "accessibilityData", "label")) or text_of(shown)
    return None


def views_shown(data: dict[str, Any]) -> str | None:
    for d in walk(data):
        if isinstance(d.get("videoViewCountRenderer"), dict):
            return number_in(text_of(d["videoViewCountRenderer"].get("viewCount")))
    return None


def comments_shown(data: dict[str, Any]) -> str | None:
    for d in walk(data):
        if d.get("panelIdentifier") == "engagement-panel-comments-section":
            shown = text_of(dig(d, "header", "engagementPanelTitleHeaderRenderer", "contextualInfo"))
            if shown:
                return shown.strip()
        if isinstance(d.get("commentsHeaderRenderer"), dict):
            shown = number_in(text_of(d["commentsHeaderRenderer"].get("countText")))
            if shown:
                return shown
        if isinstance(d.get("viewCommentsButton"), dict):
            shown = text_of(dig(d, "viewCommentsButton", "buttonRenderer", "text"))
            if shown:
                return shown.strip()
    return None


def description_links(data: dict[str, Any]) -> list[Link]:
    """Links of the description: attributedDescription.commandRuns (UTF-16 offsets)."""
    attributed = next((d["attributedDescription"] for d in walk(data)
                       if isinstance(d.get("attributedDescription"), dict)), None)
    if not attributed or not isinstance(attributed.get("content"), str):
        return []
    units = attributed["content"].encode("utf-16-le")
    links: list[Link] = []
    for run in attributed.get("commandRuns") or []:
        start, length = run.get("startIndex"), run.get("length")
        if not isinstance(start, int) or not isinstance(length, int):
            continue
        shown = units[start * 2:(start + length) * 2].decode("utf-16-le", "replace").strip()
        command = dig(run, "onTap", "innertubeCommand") or {}
        href = target_of(command)
        if shown and href:
            links.append(Link(kind=link_kind(shown, href), text=shown, url=href))
    return links


def target_of(command: dict[str, Any]) -> str | None:
    url = dig(command, "urlEndpoint", "url")
    if isinstance(url, str):
        parts = urlsplit(url)
        if parts.path == "/redirect":  # youtube.com/redirect?q=<the real target>
            return unquote((parse_qs(parts.query).get("q") or [url])[0])
        return url
    path = dig(command, "browseEndpoint", "canonicalBaseUrl") or dig(command, "commandMetadata", "webCommandMetadata", "url")
    return f"https://www.youtube.com{path}" if isinstance(path, str) and path.startswith("/") else None


# -- the post -------------------------------------------------------------------------------


def thumbnail(player: dict[str, Any], vid: str) -> dict[str, Any]:
    """The biggest still the player response names (maxresdefault), else the well-known URL."""
    for path in (("microformat", "playerMicroformatRenderer", "thumbnail", "thumbnails"),
                 ("videoDetails", "thumbnail", "thumbnails")):
        thumbs = [t for t in dig(player, *path) or [] if isinstance(t, dict) and t.get("url") and "?" not in t["url"]]
        if thumbs:
            return max(thumbs, key=lambda t: (t.get("width") or 0) * (t.get("height") or 0))
    return {"url": f"https://i.ytimg.com/vi/{vid}/maxresdefault.jpg"}


def stream_size(player: dict[str, Any]) -> tuple[int | None, int | None]:
    formats = (dig(player, "streamingData", "formats") or []) + (dig(player, "streamingData", "adaptiveFormats") or [])
    sized = [f for f in formats if isinstance(f, dict) and f.get("width") and f.get("height")]
    best = max(sized, key=lambda f: f["height"], default=None)
    return (best["width"], best["height"]) if best else (None, None)


def asr_language(player: dict[str, Any]) -> str | None:
    """The spoken language YouTube states: its automatic-captions track's languageCode."""
    for track in dig(player, "captions", "playerCaptionsTracklistRenderer", "captionTracks") or []:
        if isinstance(track, dict) and track.get("kind") == "asr" and track.get("languageCode"):
            return track["languageCode"]
    return None


def read_post(ev: PageEvidence, vid: str, kind: str, blobs: Blobs) -> Post:
    player = blobs.player or {}
    details = player.get("videoDetails") or {}
    micro = dig(player, "microformat", "playerMicroformatRenderer") or {}
    url = canonical(vid, kind)
    p_kind, p_loc = blobs.player_at or (SourceKind.EMBEDDED_JSON, PLAYER_SCRIPT)
    p_fields = ["id", "url", "title", "author.display_name", "author.id"]
    used: dict[tuple[SourceKind, str], list[str]] = {}

    channel_id = details.get("channelId") or micro.get("externalChannelId")
    handle_at = blobs.first(lambda d: handle_path(d, channel_id))
    profile = micro.get("ownerProfileUrl")
    if handle_at:
        path, at = handle_at
        used.setdefault(at, []).extend(["author.handle", "author.url"])
        handle, author_url = path[1:], f"https://www.youtube.com{path}"
    elif isinstance(profile, str) and "/@" in profile:
        handle, author_url = "@" + profile.split("/@", 1)[1].strip("/"), "https://" + profile.split("://", 1)[-1]
        p_fields += ["author.handle", "author.url"]
    else:
        handle, author_url = None, f"https://www.youtube.com/channel/{channel_id}" if channel_id else None
        p_fields += ["author.url"] if author_url else []
    avatar_at = blobs.first(avatar)
    verified_at = blobs.first(verified)
    for got, name in ((avatar_at, "author.avatar_url"), (verified_at, "author.verified")):
        if got:
            used.setdefault(got[1], []).append(name)

    raw = micro.get("publishDate") or micro.get("uploadDate")
    text = details.get("shortDescription") or text_of(micro.get("description")) or None
    language = asr_language(player)
    p_fields += (["published", "published_raw"] if raw else []) + (["text"] if text else []) + (["language"] if language else [])
    links_at = blobs.first(description_links) if text else None
    if links_at:
        used.setdefault(links_at[1], []).append("links")

    thumb = thumbnail(player, vid)
    width, height = stream_size(player)
    media = [Media(type=MediaType.VIDEO, url=url, poster_url=ev.absolute(thumb["url"]), width=width, height=height),
             Media(type=MediaType.IMAGE, url=ev.absolute(thumb["url"]) or thumb["url"], width=thumb.get("width"),
                   height=thumb.get("height"))]
    p_fields.append("media")

    counts: list[Count] = []
    views_at = blobs.first(views_shown)
    views = count("views", views_at[0] if views_at else details.get("viewCount"))
    if views:
        counts.append(views)
        if views_at:
            used.setdefault(views_at[1], []).append("counts")
        else:
            p_fields.append("counts")
    for name, picker in (("likes", like_label), ("comments", comments_shown)):
        got = blobs.first(picker)
        c = count(name, got[0]) if got else None
        if c and got:
            counts.append(c)
            if "counts" not in used.setdefault(got[1], []):
                used[got[1]].append("counts")

    sources = [Source(kind=p_kind, locator=p_loc, fields=p_fields)]
    sources += [Source(kind=k, locator=loc, fields=f) for (k, loc), f in used.items()]
    return Post(
        platform="youtube", id=vid, url=url,
        author=Author(display_name=details.get("author") or micro.get("ownerChannelName"), handle=handle, url=author_url,
                      id=channel_id, avatar_url=avatar_at[0] if avatar_at else None,
                      verified=verified_at[0] if verified_at else None),
        published=parse_time(raw), published_raw=raw,
        title=details.get("title") or text_of(micro.get("title")),
        text=text, links=links_at[0] if links_at else [], language=language,
        media=media, counts=counts, sources=sources,
        extraction=Extraction(extractor="youtube", version=VERSION),
    )


def page_says_video(ev: PageEvidence, vid: str) -> bool:
    """Without the player JSON: does the page itself still describe this video?"""
    if any(vid in json.dumps(item) for item in ev.json_ld() if "VideoObject" in str(item.get("@type"))):
        return True
    og = (ev.meta("og:type") or "").startswith("video") and vid in (ev.meta("og:url") or ev.link_rel("canonical") or "")
    return og or ev.meta("videoId") == vid


def minimal_post(ev: PageEvidence, vid: str, kind: str) -> Post:
    """The id, URL and media every YouTube video has; the generic reading (JSON-LD, og:) fills
    the rest through extract.py's merge."""
    url = canonical(vid, kind)
    og_image = ev.absolute(ev.meta("og:image"))
    image = og_image or f"https://i.ytimg.com/vi/{vid}/maxresdefault.jpg"
    title = ev.meta("og:title") or ev.meta("title")
    og_fields = (["title"] if title else []) + (["media"] if og_image else [])
    return Post(
        platform="youtube", id=vid, url=url, title=title,
        media=[Media(type=MediaType.VIDEO, url=url, poster_url=image), Media(type=MediaType.IMAGE, url=image)],
        sources=[Source(kind=SourceKind.URL, locator=ev.final_url, fields=["id", "url"] + ([] if og_image else ["media"]))]
        + ([Source(kind=SourceKind.OPENGRAPH, locator="meta[property='og:title'], meta[property='og:image']", fields=og_fields)]
           if og_fields else []),
        extraction=Extraction(extractor="youtube", version=VERSION),
    )


@dataclass(frozen=True)
class YouTube(Platform):
    name: str = "youtube"
    version: int = VERSION
    hosts: tuple[str, ...] = HOSTS
    behaviours: tuple[Behaviour, ...] = BEHAVIOURS

    def post_selectors(self, url: str) -> list[str]:
        return ["ytd-reel-video-renderer[is-active]", "ytd-watch-flexy #primary-inner", "#player", "ytd-watch-metadata"]

    def login_wall(self, ev: PageEvidence) -> str | None:
        host = (urlsplit(ev.final_url).hostname or "").lower()
        if host in WALL_HOSTS:
            return WALL_HOSTS[host]
        player = script_var(ev, "ytInitialPlayerResponse")
        status = dig(player, "playabilityStatus", "status")
        if status in WALL_STATUS:
            reason = dig(player, "playabilityStatus", "reason") or text_of(
                dig(player, "playabilityStatus", "errorScreen", "playerErrorMessageRenderer", "reason")) or status
            return f"YouTube asks to sign in: {reason}"
        return None

    def extract(self, ev: PageEvidence) -> Post | None:
        wanted = parse_url(ev.final_url) or parse_url(ev.url)
        if wanted is None:
            return None
        vid, kind = wanted
        blobs = Blobs.read(ev, vid)
        if blobs.player is not None:
            return read_post(ev, vid, kind, blobs)
        if page_says_video(ev, vid):
            return minimal_post(ev, vid, kind)
        return None


PLATFORM = YouTube()
