"""Generic: the post any page states about itself in standard metadata. Every platform
extractor falls back to this reading (extract.py `merge`), and pages of unknown hosts get
only this one. Markup relied on: docs/platforms/generic.md.

Readers, each giving candidate values for Post fields:
  JSON-LD (the main SocialMediaPosting / DiscussionForumPosting / BlogPosting / NewsArticle /
  Article / VideoObject), microformats2 (the main h-entry), oEmbed (the recorded JSON of the
  page's <link rel=alternate type=application/json+oembed>), OpenGraph, Twitter cards, and a
  few plain DOM facts (<link rel=canonical>, <html lang>, meta author/description, the main
  <article>'s body and <time>). Per field, the first reader in that field's order that has
  a value gives it, and its Source lists exactly the fields it gave.
"""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from lxml.html import HtmlElement

from .base import Platform, clean, count, parse_time, text_and_links
from .evidence import PageEvidence
from .models import (
    Author, Count, Extraction, Media, MediaType, Post, Relations, Source, SourceKind,
)

VERSION = 1

# JSON-LD types read as "the post", best first when nothing ties one to the page URL
POST_TYPES = (
    "SocialMediaPosting", "DiscussionForumPosting", "BlogPosting", "LiveBlogPosting",
    "NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle", "OpinionNewsArticle",
    "Article", "TechArticle", "Report", "VideoObject",
)
PAGE_TYPES = ("WebPage", "ItemPage", "AboutPage", "ProfilePage", "QAPage", "CollectionPage")
ARTICLE_TYPES = {t for t in POST_TYPES if t.endswith("Article") or t in ("Article", "Report")}
INTERACTIONS = {  # schema.org InteractionCounter.interactionType -> count name
    "LikeAction": "likes", "CommentAction": "comments", "ReplyAction": "replies",
    "ShareAction": "shares", "WatchAction": "views", "ViewAction": "views",
    "BookmarkAction": "bookmarks", "DislikeAction": "dislikes", "AgreeAction": "agrees",
    "ReactAction": "reactions",
}
# parts of a page that are never the main post
NOISE_TAGS = {"aside", "nav", "footer"}
NOISE_CLASSES = {"sidebar", "widget"}
# where CMSs put an article's body, inside the main <article>
BODY_CSS = (
    "[itemprop=articleBody]", ".entry-content", ".post-content", ".article-body",
    ".article-content", ".post-body", ".gh-content",
)
IMAGE_EXT = re.compile(r"\.(jpe?g|png|webp|gif|avif)(\?|$)", re.I)

Value = Any
FIELDS = (
    "url", "id", "author.display_name", "author.handle", "author.url", "author.id",
    "author.avatar_url", "published", "title", "text", "language", "media", "counts",
    "relations.reply_to", "relations.quote_of", "relations.repost_of", "relations.thread_root",
)
K = SourceKind
# readers by tag, best first; per field the first tag with a value gives it
DEFAULT_ORDER = ("json-ld", "mf2", "oembed", "og", "twitter", "dom-canonical", "dom-body", "dom-time",
                 "dom-meta", "dom-lang", "url")
ORDER: dict[str, tuple[str, ...]] = {
    "url": ("json-ld", "dom-canonical", "og", "mf2", "oembed", "twitter", "url"),
    # the text as shown (with its links) before the metadata's plain copies and summaries
    "text": ("mf2", "dom-body", "json-ld", "oembed", "og", "twitter", "dom-meta"),
    "language": ("json-ld", "mf2", "oembed", "dom-body", "dom-lang"),
}


@dataclass
class Reading:
    """What one piece of evidence says, field by field (None/empty = says nothing)."""

    tag: str  # which reader: json-ld, mf2, oembed, og, twitter, dom-*, url
    kind: SourceKind
    locator: str
    values: dict[str, Value] = field(default_factory=dict)
    used: list[str] = field(default_factory=list)

    def put(self, name: str, value: Value) -> None:
        if value not in (None, "", [], ()) and name not in self.values:
            self.values[name] = value


# -- small helpers --------------------------------------------------------------------------


def norm_url(url: str | None) -> str:
    """Host without www/port + path without trailing slash + query: ties page URLs together
    whatever their scheme, port or fragment."""
    if not url:
        return ""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    return f"{host}{path}" + (f"?{parts.query}" if parts.query else "")


def clean_text(text: str | None) -> str | None:
    """Plain text stated in metadata: lines trimmed, at most one blank line between paragraphs."""
    if not isinstance(text, str):
        return None
    text = htmllib.unescape(text).replace("\r\n", "\n").replace("\u00a0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return out or None


def as_int(value: Value) -> int | None:
    if isinstance(value, dict):  # QuantitativeValue
        value = value.get("value")
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        m = re.match(r"\s*(\d+)", value)
        return int(m.group(1)) if m else None
    return None


def in_noise(el: HtmlElement) -> bool:
    for anc in el.iterancestors():
        if not isinstance(anc.tag, str):
            continue
        classes = set((anc.get("class") or "").split())
        if anc.tag in NOISE_TAGS or anc.get("role") == "complementary" or classes & NOISE_CLASSES:
            return True
        if anc.get("id") == "sidebar":
            return True
    return False


def full_size_src(img: HtmlElement, ev: PageEvidence) -> str | None:
    """The biggest version of an <img> the markup names: a wrapping link to an image file,
    the widest srcset candidate, then (data-)src."""
    parent = img.getparent()
    if parent is not None and parent.tag == "a" and IMAGE_EXT.search(parent.get("href") or ""):
        return ev.absolute(parent.get("href"))
    srcset = img.get("srcset") or img.get("data-srcset")
    if srcset:
        best, best_w = None, -1.0
        for cand in srcset.split(","):
            bits = cand.strip().split()
            if not bits:
                continue
            w = float(bits[1][:-1]) if len(bits) > 1 and bits[1][-1:] in "wx" and bits[1][:-1].replace(".", "").isdigit() else 0.0
            if w > best_w:
                best, best_w = bits[0], w
        if best:
            return ev.absolute(best)
    return ev.absolute(img.get("data-src") or img.get("src"))


def lang_of(el: HtmlElement) -> str | None:
    for node in (el, *el.iterancestors()):
        if isinstance(node.tag, str) and node.get("lang"):
            return node.get("lang").strip() or None
    return None


def add_media(found: list[Media], item: Media | None) -> None:
    if item is None or not item.url:
        return
    for i, old in enumerate(found):
        if old.url == item.url:
            fill = {k: getattr(item, k) for k in ("alt", "width", "height", "poster_url") if getattr(old, k) is None and getattr(item, k) is not None}
            found[i] = old.model_copy(update=fill)
            return
    found.append(item)


# -- JSON-LD --------------------------------------------------------------------------------


def ld_types(item: dict[str, Any]) -> list[str]:
    raw = item.get("@type")
    types = raw if isinstance(raw, list) else [raw]
    return [str(t).rsplit("/", 1)[-1].removeprefix("schema:") for t in types if t]


def ld_first(value: Value) -> Value:
    return value[0] if isinstance(value, list) and value else (None if isinstance(value, list) else value)


class LinkedData:
    """The page's JSON-LD with {"@id": ...} references resolved (Yoast-style @graph)."""

    def __init__(self, ev: PageEvidence):
        self.items = ev.json_ld()
        self.by_id = {i["@id"]: i for i in self.items if isinstance(i.get("@id"), str) and len(i) > 1}

    def resolve(self, value: Value) -> Value:
        """A {"@id": ...} reference as the node it names (what the reference says wins)."""
        if isinstance(value, dict) and isinstance(value.get("@id"), str) and value["@id"] in self.by_id:
            return {**self.by_id[value["@id"]], **value}
        return value

    def posts(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(every post-typed item, those that are a WebPage's mainEntity)."""
        posts = [i for i in self.items if set(ld_types(i)) & set(POST_TYPES)]
        mains = []
        for page in self.items:
            if set(ld_types(page)) & set(PAGE_TYPES):
                main = self.resolve(ld_first(page.get("mainEntity")))
                if isinstance(main, dict) and set(ld_types(main)) & set(POST_TYPES):
                    mains.append(main)
                    if main not in posts:
                        posts.append(main)
        return posts, mains

    def main(self, page_keys: set[str]) -> dict[str, Any] | None:
        posts, mains = self.posts()
        if not posts:
            return None
        for item in posts:
            entity = self.resolve(item.get("mainEntityOfPage"))
            ids = [item.get("url"), item.get("@id"), entity.get("@id") if isinstance(entity, dict) else entity]
            if any(isinstance(u, str) and norm_url(u.split("#")[0]) in page_keys for u in ids):
                return item
        if mains:
            return mains[0]
        return min(posts, key=lambda i: min(POST_TYPES.index(t) for t in ld_types(i) if t in POST_TYPES))


def ld_image_url(value: Value) -> str | None:
    value = ld_first(value)
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return value.get("contentUrl") or value.get("url")
    return None


def ld_images(ld: LinkedData, value: Value, ev: PageEvidence, one: bool) -> list[Media]:
    items = value if isinstance(value, list) else [value]
    found: list[Media] = []
    for raw in items:
        raw = ld.resolve(raw)
        url = ld_image_url(raw)
        if not url:
            continue
        meta = raw if isinstance(raw, dict) else {}
        add_media(found, Media(
            type=MediaType.IMAGE, url=ev.absolute(url) or url,
            alt=clean_text(meta.get("caption") if isinstance(meta.get("caption"), str) else meta.get("description")),
            width=as_int(meta.get("width")), height=as_int(meta.get("height")),
        ))
    if one and len(found) > 1:  # an article's one picture in several crops: keep the biggest
        return [max(found, key=lambda m: (m.width or 0) * (m.height or 0))]
    return found


def ld_video(ld: LinkedData, raw: Value, ev: PageEvidence, page_url: str | None) -> Media | None:
    raw = ld.resolve(raw)
    if not isinstance(raw, dict):
        return None
    url = raw.get("contentUrl") or raw.get("url") or raw.get("embedUrl") or page_url
    if not isinstance(url, str):
        return None
    return Media(
        type=MediaType.VIDEO, url=ev.absolute(url) or url,
        poster_url=ev.absolute(ld_image_url(raw.get("thumbnailUrl") or raw.get("thumbnail"))),
        width=as_int(raw.get("width")), height=as_int(raw.get("height")),
        alt=None,
    )


def ld_counts(item: dict[str, Any]) -> list[Count]:
    found: list[Count] = []
    stats = item.get("interactionStatistic")
    for stat in stats if isinstance(stats, list) else [stats]:
        if not isinstance(stat, dict):
            continue
        kind = stat.get("interactionType")
        if isinstance(kind, dict):
            kind = kind.get("@type") or kind.get("@id")
        name = INTERACTIONS.get(str(kind or "").rsplit("/", 1)[-1].removeprefix("schema:"))
        value = stat.get("userInteractionCount")
        if name and value is not None and not any(c.name == name for c in found):
            c = count(name, str(value))
            if c:
                found.append(c)
    if item.get("commentCount") is not None and not any(c.name == "comments" for c in found):
        c = count("comments", str(item["commentCount"]))
        if c:
            found.append(c)
    return found


def ld_author(ld: LinkedData, value: Value, r: Reading, ev: PageEvidence) -> None:
    author = ld.resolve(ld_first(value))
    if isinstance(author, str):
        r.put("author.display_name", clean_text(author))
        return
    if not isinstance(author, dict):
        return
    r.put("author.display_name", clean_text(author.get("name")))
    r.put("author.handle", clean_text(author.get("alternateName")))
    url = author.get("url") or ld_first(author.get("sameAs"))
    r.put("author.url", ev.absolute(url) if isinstance(url, str) else None)
    ident = author.get("identifier")
    r.put("author.id", str(ident) if isinstance(ident, (str, int)) else None)
    r.put("author.avatar_url", ev.absolute(ld_image_url(ld.resolve(author.get("image")))))


def ld_language(value: Value) -> str | None:
    value = ld_first(value)
    if isinstance(value, dict):
        value = value.get("alternateName") or value.get("name")
    return value.strip() if isinstance(value, str) and value.strip() else None


def read_json_ld(ev: PageEvidence, page_keys: set[str], page_url: str | None) -> Reading | None:
    ld = LinkedData(ev)
    item = ld.main(page_keys)
    if item is None:
        return None
    types = [t for t in ld_types(item) if t in POST_TYPES]
    r = Reading("json-ld", K.JSON_LD, f'script[type="application/ld+json"] {types[0]}')
    entity = ld.resolve(item.get("mainEntityOfPage"))
    url = item.get("url") or (entity.get("@id") if isinstance(entity, dict) else entity)
    url = url.split("#")[0] if isinstance(url, str) else None
    r.put("url", ev.absolute(url) if isinstance(url, str) else None)
    ident = item.get("identifier")
    ident = ident.get("value") if isinstance(ident, dict) else ident
    r.put("id", str(ident) if isinstance(ident, (str, int)) else None)
    ld_author(ld, item.get("author") or item.get("creator"), r, ev)
    raw = next((item[k] for k in ("datePublished", "uploadDate", "dateCreated") if isinstance(item.get(k), str)), None)
    r.put("published", (parse_time(raw), raw) if raw and parse_time(raw) else None)
    r.put("title", clean_text(item.get("headline") or item.get("name")))
    body = item.get("articleBody") or item.get("text")
    if body is None and "VideoObject" in types:
        body = item.get("description")
    body_text = clean_text(body)
    r.put("text", (body_text, []) if body_text else None)
    r.put("language", ld_language(item.get("inLanguage")))
    media: list[Media] = []
    if "VideoObject" in types:
        add_media(media, ld_video(ld, item, ev, page_url))
    for m in ld_images(ld, item.get("image"), ev, one=bool(set(types) & ARTICLE_TYPES)):
        if not any(v.poster_url == m.url for v in media):
            add_media(media, m)
    videos = item.get("video")
    for v in videos if isinstance(videos, list) else [videos]:
        add_media(media, ld_video(ld, v, ev, None) if v else None)
    shared = ld.resolve(item.get("sharedContent"))
    shared_types = set(ld_types(shared)) if isinstance(shared, dict) else set()
    if shared_types & {"ImageObject", "Photograph"}:
        media.extend(ld_images(ld, shared, ev, one=False))
    elif shared_types & {"VideoObject"}:
        add_media(media, ld_video(ld, shared, ev, None))
    elif isinstance(shared, dict) and isinstance(shared.get("url"), str):
        # a post shared inside this one: quoted when this one says something, else reposted
        rel = "relations.quote_of" if body_text else "relations.repost_of"
        r.put(rel, ev.absolute(shared["url"]))
    r.put("media", media)
    r.put("counts", ld_counts(item))
    parent = ld.resolve(item.get("parentItem"))
    parent_url = parent.get("url") if isinstance(parent, dict) else parent
    r.put("relations.reply_to", ev.absolute(parent_url) if isinstance(parent_url, str) else None)
    return r


# -- microformats2 --------------------------------------------------------------------------


def is_root(el: HtmlElement) -> bool:
    return any(c.startswith("h-") for c in (el.get("class") or "").split())


def owner(el: HtmlElement) -> HtmlElement | None:
    """The nearest h-* root above `el`: whose property `el` is."""
    for anc in el.iterancestors():
        if isinstance(anc.tag, str) and is_root(anc):
            return anc
    return None


def props(root: HtmlElement, cls: str) -> list[HtmlElement]:
    return [el for el in root.iter() if el is not root and isinstance(el.tag, str)
            and cls in (el.get("class") or "").split() and owner(el) is root]


def u_value(el: HtmlElement, ev: PageEvidence) -> str | None:
    for attr in ("href", "src", "data"):
        if el.get(attr):
            return ev.absolute(el.get(attr))
    return None


def dt_value(el: HtmlElement) -> str | None:
    vt = el.cssselect(".value-title[title]")
    if vt:
        return vt[0].get("title")
    for attr in ("datetime", "title", "content"):
        if el.get(attr):
            return el.get(attr).strip()
    return clean_text(el.text_content())


def main_entry(ev: PageEvidence, page_keys: set[str]) -> HtmlElement | None:
    entries = [e for e in ev.select(".h-entry") if not any(
        isinstance(a.tag, str) and "h-entry" in (a.get("class") or "").split() for a in e.iterancestors())]
    for e in entries:
        if any(norm_url(u_value(u, ev)) in page_keys for u in props(e, "u-url")):
            return e
    kept = [e for e in entries if not in_noise(e)]
    return kept[0] if kept else None


def card(el: HtmlElement, r: Reading, ev: PageEvidence) -> None:
    """p-author: an h-card (p-name, u-url, u-photo, p-nickname) or plain text/link."""
    if "h-card" in (el.get("class") or "").split():
        name = props(el, "p-name")
        url = props(el, "u-url")
        photo = props(el, "u-photo")
        nick = props(el, "p-nickname")
        r.put("author.display_name", clean_text(name[0].text_content()) if name else clean_text(
            el.get("alt") or el.text_content()))
        r.put("author.url", u_value(url[0], ev) if url else (ev.absolute(el.get("href")) if el.tag == "a" else None))
        r.put("author.avatar_url", u_value(photo[0], ev) if photo else None)
        r.put("author.handle", clean_text(nick[0].text_content()) if nick else None)
        return
    r.put("author.display_name", clean_text(el.text_content()))
    r.put("author.url", ev.absolute(el.get("href")) if el.tag == "a" else None)


def cite_url(el: HtmlElement, ev: PageEvidence) -> str | None:
    """u-in-reply-to / u-repost-of: a link, or an h-cite whose u-url (or first link) is it."""
    if el.tag == "a" and el.get("href"):
        return ev.absolute(el.get("href"))
    urls = props(el, "u-url") if is_root(el) else []
    if urls:
        return u_value(urls[0], ev)
    links = el.cssselect("a[href]")
    return ev.absolute(links[0].get("href")) if links else None


def entry_media(entry: HtmlElement, ev: PageEvidence) -> list[Media]:
    media: list[Media] = []
    for el in props(entry, "u-photo") + props(entry, "u-video"):
        if el.tag == "img":
            add_media(media, Media(type=MediaType.IMAGE, url=full_size_src(el, ev) or "", alt=el.get("alt") or None))
        elif el.tag == "video":
            source = el.cssselect("source[src]")
            src = el.get("src") or (source[0].get("src") if source else None)
            add_media(media, Media(type=MediaType.VIDEO, url=ev.absolute(src) or "", poster_url=ev.absolute(el.get("poster"))))
        elif el.tag == "a":
            kind = MediaType.VIDEO if "u-video" in (el.get("class") or "").split() else MediaType.IMAGE
            add_media(media, Media(type=kind, url=ev.absolute(el.get("href")) or ""))
    return media


def read_microformats(ev: PageEvidence, page_keys: set[str]) -> Reading | None:
    entry = main_entry(ev, page_keys)
    if entry is None:
        return None
    r = Reading("mf2", K.MICROFORMATS, entry_locator(entry))
    urls = props(entry, "u-url")
    r.put("url", u_value(urls[0], ev) if urls else None)
    uid = props(entry, "u-uid")
    r.put("id", clean_text(u_value(uid[0], ev) or uid[0].text_content()) if uid else None)
    content = props(entry, "e-content")
    text, links = text_and_links(content[0], ev) if content else ("", [])
    r.put("text", (text, links) if text else None)
    names = [n for n in props(entry, "p-name") if "e-content" not in (n.get("class") or "").split()]
    name = clean(names[0].text_content()) if names else None
    if name and not " ".join((text or "").split()).startswith(name):
        r.put("title", name)  # an explicit name that is not just the note's own text
    published = props(entry, "dt-published")
    raw = dt_value(published[0]) if published else None
    r.put("published", (parse_time(raw), raw) if raw and parse_time(raw) else None)
    authors = props(entry, "p-author")
    if authors:
        card(authors[0], r, ev)
    r.put("language", lang_of(content[0]) if content else None)
    r.put("media", entry_media(entry, ev))
    for cls, rel in (("u-in-reply-to", "relations.reply_to"), ("u-repost-of", "relations.repost_of"),
                     ("u-quotation-of", "relations.quote_of")):
        found = props(entry, cls)
        r.put(rel, cite_url(found[0], ev) if found else None)
    return r


def entry_locator(entry: HtmlElement) -> str:
    ident = entry.get("id")
    return f"{entry.tag}#{ident}.h-entry" if ident else f"{entry.tag}.h-entry"


# -- oEmbed ---------------------------------------------------------------------------------


def oembed_json(ev: PageEvidence) -> tuple[str, dict[str, Any]] | None:
    href = ev.link_rel("alternate", "application/json+oembed")
    found = list(ev.api_json("oembed"))
    if href:
        wanted = norm_url(href)
        for url, data in found:
            if isinstance(data, dict) and norm_url(url) == wanted:
                return url, data
        found = [(u, d) for u, d in found if isinstance(d, dict) and urlsplit(u).path == urlsplit(href).path]
    for url, data in found:
        if isinstance(data, dict) and data.get("type") in ("rich", "video", "photo", "link") and data.get("version"):
            return url, data
    return None


def read_oembed(ev: PageEvidence, page_url: str | None) -> Reading | None:
    got = oembed_json(ev)
    if got is None:
        return None
    url, data = got
    r = Reading("oembed", K.OEMBED, url)
    r.put("author.display_name", clean_text(data.get("author_name")))
    r.put("author.url", data.get("author_url"))
    r.put("title", clean_text(data.get("title")))
    kind = data.get("type")
    media: list[Media] = []
    markup = data.get("html") if isinstance(data.get("html"), str) else ""
    frag = lxml.html.fragment_fromstring(markup, create_parent="div") if markup.strip() else None
    if kind == "photo" and isinstance(data.get("url"), str):
        media.append(Media(type=MediaType.IMAGE, url=data["url"], width=as_int(data.get("width")), height=as_int(data.get("height"))))
    elif kind == "video" and page_url:
        # the player streams it; the page is what yt-dlp takes
        media.append(Media(type=MediaType.VIDEO, url=page_url, poster_url=data.get("thumbnail_url"),
                           width=as_int(data.get("width")), height=as_int(data.get("height"))))
    elif isinstance(data.get("thumbnail_url"), str):
        media.append(Media(type=MediaType.IMAGE, url=data["thumbnail_url"], width=as_int(data.get("thumbnail_width")),
                           height=as_int(data.get("thumbnail_height"))))
    r.put("media", media)
    if frag is not None:  # a post embed: <blockquote><p>text</p>&mdash; Name (@handle) <a>date</a></blockquote>
        paras = frag.cssselect("blockquote > p")
        if paras:
            parts = [text_and_links(p, ev) for p in paras]
            text = "\n\n".join(t for t, _ in parts if t)
            r.put("text", (text, [lk for _, ls in parts for lk in ls]) if text else None)
            r.put("language", paras[0].get("lang"))
    return r


# -- OpenGraph, Twitter cards, plain DOM ----------------------------------------------------


def og_structured(ev: PageEvidence, prefix: str) -> list[dict[str, str]]:
    """og:image / og:video with their :url/:secure_url/:alt/:width/:height/:type, in order."""
    found: list[dict[str, str]] = []
    for el in ev.doc.xpath("//meta[@property or @name]"):
        key = (el.get("property") or el.get("name") or "").strip()
        value = (el.get("content") or "").strip()
        if not value or not (key == prefix or key.startswith(prefix + ":")):
            continue
        sub = key[len(prefix) + 1:] if key != prefix else "url"
        if sub == "url" and (not found or "url" in found[-1]):
            found.append({})
        elif not found:
            found.append({})
        found[-1].setdefault(sub, value)
    return [f for f in found if f.get("secure_url") or f.get("url")]


def page_image_is_post(ev: PageEvidence) -> bool:
    """og:image / twitter:image show the post unless the page says it is a small summary card
    of something that is not an article or video (a channel's, profile's or site's picture)."""
    card = (ev.meta("twitter:card") or "").lower()
    return card != "summary" or (ev.meta("og:type") or "").lower().startswith(("article", "video"))


def read_opengraph(ev: PageEvidence) -> Reading | None:
    r = Reading("og", K.OPENGRAPH, "meta[property^='og:'], meta[property^='article:']")
    og_type = (ev.meta("og:type") or "").lower()
    r.put("url", ev.meta("og:url"))
    if og_type.startswith(("article", "video")):  # otherwise og:title names the page, not a post
        r.put("title", clean_text(ev.meta("og:title")))
    desc = clean_text(ev.meta("og:description"))
    r.put("text", (desc, []) if desc else None)
    raw = ev.meta("article:published_time") or ev.meta("video:release_date")
    r.put("published", (parse_time(raw), raw) if raw and parse_time(raw) else None)
    author = ev.meta("article:author")
    if author and re.match(r"https?://", author):
        r.put("author.url", author)
    else:
        r.put("author.display_name", clean_text(author))
    images = og_structured(ev, "og:image")
    videos = og_structured(ev, "og:video")
    media: list[Media] = []
    for v in videos:
        add_media(media, Media(type=MediaType.VIDEO, url=ev.absolute(v.get("secure_url") or v["url"]) or "",
                               width=as_int(v.get("width")), height=as_int(v.get("height")),
                               poster_url=ev.absolute(images[0].get("secure_url") or images[0]["url"]) if images else None))
    for i in (images if not videos else images[1:]) if page_image_is_post(ev) else ():
        add_media(media, Media(type=MediaType.IMAGE, url=ev.absolute(i.get("secure_url") or i["url"]) or "",
                               alt=i.get("alt"), width=as_int(i.get("width")), height=as_int(i.get("height"))))
    r.put("media", media)
    return r if r.values else None


def read_twitter(ev: PageEvidence) -> Reading | None:
    r = Reading("twitter", K.TWITTER_CARD, "meta[name^='twitter:']")
    if (ev.meta("og:type") or "").lower().startswith(("article", "video")):
        r.put("title", clean_text(ev.meta("twitter:title")))
    desc = clean_text(ev.meta("twitter:description"))
    r.put("text", (desc, []) if desc else None)
    creator = ev.meta("twitter:creator")
    r.put("author.handle", creator if creator and creator.startswith("@") else None)
    image = ev.meta("twitter:image") or ev.meta("twitter:image:src")
    player = ev.meta("twitter:player")
    media: list[Media] = []
    if player:
        add_media(media, Media(type=MediaType.VIDEO, url=ev.absolute(player) or player, poster_url=ev.absolute(image),
                               width=as_int(ev.meta("twitter:player:width")), height=as_int(ev.meta("twitter:player:height"))))
    elif image and page_image_is_post(ev):
        add_media(media, Media(type=MediaType.IMAGE, url=ev.absolute(image) or image, alt=ev.meta("twitter:image:alt")))
    r.put("media", media)
    return r if r.values else None


def main_article(ev: PageEvidence) -> HtmlElement | None:
    """The page's one <article> that is the post: not in a sidebar/footer, not inside another
    article, not a comment; among several, the one with the page's <h1>."""
    def is_comment(el: HtmlElement) -> bool:
        return any("comment" in ((x.get("class") or "") + " " + (x.get("id") or "")).lower()
                   for x in (el, *el.iterancestors()) if isinstance(x.tag, str))

    articles = [a for a in ev.select("article") if not in_noise(a) and not is_comment(a)
                and not any(getattr(x, "tag", None) == "article" for x in a.iterancestors())]
    if len(articles) > 1:
        articles = [a for a in articles if a.cssselect("h1")]
    return articles[0] if len(articles) == 1 else None


def read_dom(ev: PageEvidence) -> list[Reading]:
    out: list[Reading] = []
    canonical = ev.link_rel("canonical")
    if canonical:
        r = Reading("dom-canonical", K.DOM, "link[rel=canonical]")
        r.put("url", canonical)
        out.append(r)
    article = main_article(ev)
    if article is not None:
        body = next((b for css in BODY_CSS for b in article.cssselect(css)), None)
        if body is not None:
            text, links = text_and_links(body, ev)
            r = Reading("dom-body", K.DOM, f"article {next(c for c in BODY_CSS if article.cssselect(c))}")
            r.put("text", (text, links) if text else None)
            r.put("language", lang_of(body) if body.get("lang") or article.get("lang") else None)
            out.append(r)
        times = article.cssselect("time[itemprop=datePublished][datetime], time.published[datetime], "
                                  "time[pubdate][datetime], time.entry-date[datetime]") or article.cssselect("time[datetime]")
        if times:
            raw = times[0].get("datetime")
            if parse_time(raw):
                r = Reading("dom-time", K.DOM, "article time[datetime]")
                r.put("published", (parse_time(raw), raw))
                out.append(r)
    r = Reading("dom-meta", K.DOM, "meta[name=author], meta[name=description]")
    r.put("author.display_name", clean_text(ev.meta("author")))
    desc = clean_text(ev.meta("description"))
    r.put("text", (desc, []) if desc else None)
    if r.values:
        out.append(r)
    lang = ev.doc.get("lang")
    if lang and lang.strip():
        r = Reading("dom-lang", K.DOM, "html[lang]")
        r.put("language", lang.strip())
        out.append(r)
    return out


# -- putting it together --------------------------------------------------------------------


def page_keys(ev: PageEvidence) -> set[str]:
    keys = {norm_url(u) for u in (ev.url, ev.final_url, ev.link_rel("canonical"), ev.meta("og:url")) if u}
    return keys - {""}


def pick(readings: list[Reading], name: str) -> Value:
    order = ORDER.get(name, DEFAULT_ORDER)
    ranked = sorted((r for r in readings if r.tag in order), key=lambda r: order.index(r.tag))
    for r in ranked:
        if name in r.values:
            r.used.append(name)
            return r.values[name]
    return None


def enrich_media(media: list[Media], readings: list[Reading]) -> list[Media]:
    """Alt/width/height stated by OpenGraph or the Twitter card for the same image URL."""
    others = [(r, m) for r in readings for m in r.values.get("media", []) if r.tag in ("og", "twitter")]
    out = []
    for item in media:
        for r, other in others:
            if other.url == item.url or (other.poster_url and other.poster_url == item.poster_url and other.type == item.type):
                fill = {k: getattr(other, k) for k in ("alt", "width", "height") if getattr(item, k) is None and getattr(other, k) is not None}
                if fill:
                    item = item.model_copy(update=fill)
                    if "media" not in r.used:
                        r.used.append("media")
        out.append(item)
    return out


def source_fields(used: list[str]) -> list[str]:
    out: list[str] = []
    for name in used:
        out.extend(("published", "published_raw") if name == "published" else (name,))
    return out


def build(ev: PageEvidence, readings: list[Reading]) -> Post | None:
    got = {name: pick(readings, name) for name in FIELDS}
    text, links = got["text"] or (None, [])
    if not (text or got["title"] or got["media"]):
        return None
    for r in readings:  # "text" came with its links
        if "text" in r.used and links:
            r.used.append("links")
    published, raw = got["published"] or (None, None)
    media = enrich_media(got["media"] or [], readings)
    author = Author(**{k.split(".", 1)[1]: got[k] for k in FIELDS if k.startswith("author.")})
    relations = Relations(**{k.split(".", 1)[1]: got[k] for k in FIELDS if k.startswith("relations.")})
    sources = [Source(kind=r.kind, locator=r.locator, fields=source_fields(r.used)) for r in readings if r.used]
    return Post(
        platform="generic", id=got["id"], url=got["url"] or ev.final_url, author=author,
        published=published, published_raw=raw, title=got["title"], text=text, links=list(links),
        language=got["language"], media=media, counts=got["counts"] or [], relations=relations,
        sources=sources, extraction=Extraction(extractor="generic", version=VERSION),
    )


def read(ev: PageEvidence) -> list[Reading]:
    keys = page_keys(ev)
    page_url = ev.link_rel("canonical") or ev.meta("og:url") or ev.final_url
    readers = [
        read_json_ld(ev, keys, page_url), read_microformats(ev, keys), read_oembed(ev, page_url),
        read_opengraph(ev), read_twitter(ev), *read_dom(ev),
    ]
    readings = [r for r in readers if r is not None and r.values]
    url = Reading("url", K.URL, ev.final_url)
    url.put("url", ev.final_url)
    return readings + [url]


@dataclass(frozen=True)
class Generic(Platform):
    name: str = "generic"
    version: int = VERSION
    hosts: tuple[str, ...] = ()

    def matches(self, url: str) -> bool:
        return False

    def post_selectors(self, url: str) -> list[str]:
        return [
            "main .h-entry", ".h-entry:not(aside *):not(nav *):not(footer *)",
            "[itemtype*=SocialMediaPosting]", "[itemtype*=DiscussionForumPosting]", "[itemtype*=BlogPosting]",
            "[itemtype*=Article]", "main article", "article:not(aside *):not(footer *)", "[role=main]", "main",
        ]

    def extract(self, ev: PageEvidence) -> Post | None:
        return build(ev, read(ev))


PLATFORM = Generic()
