"""Telegram: public channel posts on t.me. Markup relied on: docs/platforms/telegram.md.

Two page kinds:
  t.me/s/<channel>/<id>  the channel's public preview: many messages (div.tgme_widget_message
                         [data-post="channel/id"]); the one whose data-post is the requested
                         id is the post, the right column (.tgme_channel_info) is the channel.
  t.me/<channel>/<id>    a small page with og: tags, a "View in Telegram" button and the
                         post widget: telegram-widget.js puts an iframe of
                         t.me/<channel>/<id>?embed=1 in it, whose HTML (recorded in the WARC)
                         holds the same message markup. When that response is missing, the
                         page's og: tags are all there is (and sources say so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from .base import Platform, clean, count, parse_time, text_and_links
from .evidence import PageEvidence
from .generic import clean_text
from .models import Author, Count, Extraction, Media, MediaType, Post, Relations, Source, SourceKind

VERSION = 1
HOSTS = ("t.me", "telegram.me", "telegram.dog")
POST_PATH = re.compile(r"^/(?P<s>s/)?(?P<channel>[A-Za-z][A-Za-z0-9_]{3,31})/(?P<id>\d+)/?$")
PRIVATE_PATH = re.compile(r"^/c/\d+/\d+")
BACKGROUND = re.compile(r"background-image\s*:\s*url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")
MESSAGE = "div.tgme_widget_message[data-post]"
# parts of a message that quote another one (their text/media are not this post's)
QUOTED = ("tgme_widget_message_reply", "tgme_widget_message_link_preview")
MESSAGE_FIELDS = [
    "id", "url", "author.display_name", "author.handle", "author.url", "author.avatar_url", "published",
    "published_raw", "text", "links", "media", "counts", "relations.reply_to", "relations.repost_of",
]


def parse_url(url: str) -> tuple[str, str, bool] | None:
    """(channel, message id, is the /s/ preview) of a t.me post URL; scheme and port ignored."""
    parts = urlsplit(url)
    if (parts.hostname or "").lower().removeprefix("www.") not in HOSTS:
        return None
    m = POST_PATH.match(parts.path)
    return (m.group("channel"), m.group("id"), bool(m.group("s"))) if m else None


def background_url(el: HtmlElement | None, ev: PageEvidence) -> str | None:
    m = BACKGROUND.search(el.get("style") or "") if el is not None else None
    return ev.absolute(m.group(1)) if m else None


def quoted(el: HtmlElement, root: HtmlElement) -> bool:
    for anc in el.iterancestors():
        if anc is root:
            return False
        if set((anc.get("class") or "").split()) & set(QUOTED):
            return True
    return False


def own(root: HtmlElement, css: str) -> list[HtmlElement]:
    """Elements of this message, not of the message it replies to or a link preview."""
    return [el for el in root.cssselect(css) if not quoted(el, root)]


def find_message(ev: PageEvidence, channel: str, msg_id: str) -> HtmlElement | None:
    wanted = f"{channel}/{msg_id}".lower()
    return next((el for el in ev.select(MESSAGE) if (el.get("data-post") or "").lower() == wanted), None)


def embed_evidence(ev: PageEvidence, channel: str, msg_id: str) -> PageEvidence | None:
    """The recorded t.me/<channel>/<id>?embed=1 document (the post widget's iframe)."""
    pattern = rf"(?i)^https?://[^/]*\b(t\.me|telegram\.me)(:\d+)?/{re.escape(channel)}/{msg_id}\?([^#]*&)?embed=1"
    for r in ev.responses(pattern):
        if 200 <= r.status < 300 and "html" in r.content_type.lower():
            return PageEvidence(url=r.url, final_url=r.url, html=r.body.decode("utf-8", "replace"))
    return None


# -- reading one message ---------------------------------------------------------------------


def message_media(root: HtmlElement, ev: PageEvidence, post_url: str) -> list[Media]:
    media: list[Media] = []
    css = (".tgme_widget_message_photo_wrap, .tgme_widget_message_video_player, "
           ".tgme_widget_message_roundvideo_player, audio.tgme_widget_message_voice")
    for el in own(root, css):
        classes = el.get("class") or ""
        if "tgme_widget_message_photo_wrap" in classes:
            url = background_url(el, ev)
            if url:
                media.append(Media(type=MediaType.IMAGE, url=url))
        elif el.tag == "audio":
            if el.get("src"):
                media.append(Media(type=MediaType.AUDIO, url=ev.absolute(el.get("src")) or ""))
        else:
            video = el.cssselect("video")
            thumb = el.cssselect(".tgme_widget_message_video_thumb, .tgme_widget_message_roundvideo_thumb")
            src = video[0].get("src") if video else None
            gif = "gif" in (classes + " " + (video[0].get("class") or "" if video else "")).lower()
            # "Media is too big": no <video>, only its thumb; yt-dlp reads the post itself
            media.append(Media(type=MediaType.GIF if gif else MediaType.VIDEO,
                               url=ev.absolute(src) if src else (ev.absolute(el.get("href")) or post_url),
                               poster_url=background_url(thumb[0], ev) if thumb else None))
    return media


def message_counts(root: HtmlElement) -> list[Count]:
    found: list[Count] = []
    views = own(root, ".tgme_widget_message_views")
    c = count("views", views[0].text_content()) if views else None
    if c:
        found.append(c)
    for reaction in own(root, ".tgme_widget_message_reactions .tgme_reaction"):
        emoji = "".join(b.text_content() for b in reaction.cssselect("i.emoji b")) or "".join(
            i.get("alt") or "" for i in reaction.cssselect("img"))
        shown = reaction.text_content().replace(emoji, "", 1) if emoji else reaction.text_content()
        c = count(f"reactions:{emoji.strip() or '?'}", shown)
        if c:
            found.append(c)
    return found


def author_of(root: HtmlElement, ev: PageEvidence, channel: str) -> dict[str, str | None]:
    owner = own(root, ".tgme_widget_message_owner_name")
    href = ev.absolute(owner[0].get("href")) if owner and owner[0].get("href") else None
    handle_from = parse_profile(href) or channel
    photo = own(root, ".tgme_widget_message_user_photo img")
    return {
        "display_name": clean(owner[0].text_content()) if owner else None,
        "handle": f"@{handle_from}",
        "url": href or f"https://t.me/{channel}",
        "avatar_url": ev.absolute(photo[0].get("src")) if photo else None,
    }


def parse_profile(url: str | None) -> str | None:
    """'https://t.me/name' -> 'name'."""
    if not url:
        return None
    parts = urlsplit(url)
    m = re.fullmatch(r"/([A-Za-z][A-Za-z0-9_]{3,31})/?", parts.path)
    return m.group(1) if m and (parts.hostname or "").lower() in HOSTS else None


def read_message(root: HtmlElement, ev: PageEvidence, kind: SourceKind, locator: str) -> Post:
    data_post = root.get("data-post") or ""
    channel, _, msg_id = data_post.partition("/")
    url = f"https://t.me/{channel}/{msg_id}"
    texts = own(root, ".tgme_widget_message_text")
    text, links = text_and_links(texts[0], ev) if texts else ("", [])
    times = own(root, ".tgme_widget_message_date time[datetime]") or own(root, "time.time[datetime]")
    raw = times[0].get("datetime") if times else None
    reply = own(root, "a.tgme_widget_message_reply[href]")
    forward = own(root, "a.tgme_widget_message_forwarded_from_name[href]")
    fields = [f for f in MESSAGE_FIELDS if not (f == "relations.reply_to" and not reply)
              and not (f == "relations.repost_of" and not forward)]
    return Post(
        platform="telegram", id=msg_id, url=url,
        author=Author(**author_of(root, ev, channel)),
        published=parse_time(raw), published_raw=raw,
        text=text or None, links=links,
        media=message_media(root, ev, url),
        counts=message_counts(root),
        relations=Relations(
            reply_to=ev.absolute(reply[0].get("href")) if reply else None,
            repost_of=ev.absolute(forward[0].get("href")) if forward else None,
        ),
        sources=[Source(kind=kind, locator=locator, fields=fields)],
        extraction=Extraction(extractor="telegram", version=VERSION),
    )


def with_channel_info(post: Post, ev: PageEvidence, root: HtmlElement) -> Post:
    """The /s/ page's channel column and header: the verified badge (and avatar if the
    message had none)."""
    info = ev.first(".tgme_channel_info")
    badge = bool(own(root, ".tgme_widget_message_author .verified-icon")) or bool(
        ev.select(".tgme_channel_info_header_title .verified-icon, .tgme_header_title .verified-icon"))
    if info is None:
        return post.model_copy(update={"author": post.author.model_copy(update={"verified": True})}) if badge else post
    update: dict[str, object] = {"verified": badge}
    fields = ["author.verified"]
    if post.author.avatar_url is None:
        img = info.cssselect(".tgme_channel_info_header img")
        if img:
            update["avatar_url"] = ev.absolute(img[0].get("src"))
            fields.append("author.avatar_url")
    return post.model_copy(update={
        "author": post.author.model_copy(update=update),
        "sources": post.sources + [Source(kind=SourceKind.DOM, locator=".tgme_channel_info", fields=fields)],
    })


def from_opengraph(ev: PageEvidence, channel: str, msg_id: str) -> Post | None:
    """t.me/<channel>/<id> whose widget was not recorded: the preview page's og: tags."""
    text = clean_text(ev.meta("og:description"))
    image = ev.absolute(ev.meta("og:image"))
    # t.me writes the post's photo as og:image with a large card, the channel's picture otherwise
    is_photo = bool(image) and (ev.meta("twitter:card") or "") == "summary_large_image"
    if not text and not is_photo:
        return None
    og_fields = ["author.display_name"] + (["text"] if text else [])
    og_fields += (["media"] if is_photo else ["author.avatar_url"] if image else [])
    return Post(
        platform="telegram", id=msg_id, url=f"https://t.me/{channel}/{msg_id}",
        author=Author(display_name=clean(ev.meta("og:title")), handle=f"@{channel}", url=f"https://t.me/{channel}",
                      avatar_url=None if is_photo else image),
        text=text,
        media=[Media(type=MediaType.IMAGE, url=image)] if is_photo and image else [],
        sources=[
            Source(kind=SourceKind.OPENGRAPH,
                   locator="meta[property^='og:'] of the t.me post preview page (the post widget was not recorded)",
                   fields=og_fields),
            Source(kind=SourceKind.URL, locator=ev.url, fields=["id", "url", "author.handle", "author.url"]),
        ],
        extraction=Extraction(extractor="telegram", version=VERSION),
    )


@dataclass(frozen=True)
class Telegram(Platform):
    name: str = "telegram"
    version: int = VERSION
    hosts: tuple[str, ...] = HOSTS
    # a message without caption has no text, one without photos no media: the channel's
    # og:description / og:image on the same page are not the message's
    no_fallback: tuple[str, ...] = ("text", "media")

    def post_selectors(self, url: str) -> list[str]:
        parsed = parse_url(url)
        first = [f'.tgme_widget_message[data-post="{parsed[0]}/{parsed[1]}" i]'] if parsed else []
        return first + [".tgme_page_widget iframe"]

    def login_wall(self, ev: PageEvidence) -> str | None:
        if PRIVATE_PATH.match(urlsplit(ev.url).path):
            return "t.me/c/ links are messages of private channels: only members see them, in the Telegram app"
        wanted = parse_url(ev.url)
        if wanted is None or find_message(ev, wanted[0], wanted[1]) is not None:
            return None
        landed = parse_url(ev.final_url)
        if (landed is None or landed[:2] != wanted[:2]) and ev.select(".tgme_page_action a[href^='tg:']"):
            return (f"t.me shows only the 'View in Telegram' page of {wanted[0]}: "
                    f"message {wanted[1]} has no public web preview")
        return None

    def extract(self, ev: PageEvidence) -> Post | None:
        wanted = parse_url(ev.final_url) or parse_url(ev.url)
        if wanted is None:
            return None
        channel, msg_id, _ = wanted
        root = find_message(ev, channel, msg_id)
        if root is not None:
            locator = f'div.tgme_widget_message[data-post="{root.get("data-post")}"]'
            return with_channel_info(read_message(root, ev, SourceKind.DOM, locator), ev, root)
        embed = embed_evidence(ev, channel, msg_id)
        root = find_message(embed, channel, msg_id) if embed is not None else None
        if embed is not None and root is not None:
            # a recorded HTML response (the widget iframe), located by its URL
            return with_channel_info(read_message(root, embed, SourceKind.RESPONSE, embed.url), embed, root)
        landed = parse_url(ev.final_url)
        if landed is not None and not landed[2]:  # the post's own preview page, not /s/
            return from_opengraph(ev, channel, msg_id)
        return None


PLATFORM = Telegram()
