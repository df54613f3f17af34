"""The generic extractor (archiver/platforms/generic.py) on real captures of four kinds of
page, one per source kind, and how extract.py merges its reading into a platform's.

Pages (tests/fixtures/platforms/generic/): a WordPress + Yoast blog post (JSON-LD @graph with
@id references, a related post's JSON-LD in a "trending" bar, comments as <article>s), a
news article with only OpenGraph/Twitter-card metadata (sidebar "most read" articles, a
paywall bar), an IndieWeb note (microformats2 h-entry replying to a post, sidebar h-feed,
nested response h-cite), and a photo page rendered from its own oEmbed JSON.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pytest
from helpers import capture_post, assert_post_shot

from archiver.platforms import generic
from archiver.platforms.base import Platform
from archiver.platforms.evidence import PageEvidence, ResponseStore
from archiver.platforms.extract import extract, merge
from archiver.platforms.models import Extraction, Post, Source, SourceKind

PIPELINE_MEDIA = ("path", "sha256", "size", "media_type", "origin", "warc_uri", "note")
PAGES = {
    "blog": ("blog.example.com", "/2024/05/14/banjir-rob-semarang/"),
    "news": ("news.example.org", "/read/2024/06/02/ferry-delays-bali-strait"),
    "note": ("ana.example.net", "/2024/06/03/1/"),
    "photo": ("photos.example.net", "/p/7Qx2Lm"),
}


@pytest.fixture(scope="module")
def caps(engine, platform_web):
    return {name: capture_post(engine, platform_web.url(host, path)) for name, (host, path) in PAGES.items()}


def author(**kw):
    base = {"display_name": None, "handle": None, "url": None, "id": None, "avatar_url": None, "verified": None}
    return {**base, **kw}


def relations(**kw):
    return {"reply_to": None, "quote_of": None, "repost_of": None, "thread_root": None, **kw}


def media(type_, url, **kw):
    return {"type": type_, "url": url, "alt": None, "width": None, "height": None, "poster_url": None, **kw}


def check_media_files(captured, post) -> list[dict]:
    """Every media item archived: its file's sha256 is the one recorded; returns the items
    without the pipeline's fields."""
    out = []
    for m in post["media"]:
        assert m["path"] and m["sha256"], m
        data = (captured.path / m["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == m["sha256"] and m["size"] == len(data)
        assert m["origin"] in ("recorded", "fetched") and m["warc_uri"] == m["url"] and m["note"] is None
        out.append({k: v for k, v in m.items() if k not in PIPELINE_MEDIA})
    return out


def check_capture(captured, post) -> dict:
    assert post is not None, "no post.json"
    assert_post_shot(captured.path, narrower_than=None)
    prov = json.loads((captured.path / "provenance.json").read_text())
    assert prov["post"]["found"] and prov["post"]["extractor"] == "generic" and prov["post"]["login_required"] is None
    assert {b["name"] for b in prov["behaviours"]} >= {"consent", "play-videos"}
    post = dict(post)
    post["media"] = check_media_files(captured, post)
    return post


def test_json_ld_blog_post(caps, platform_web):
    captured, post = caps["blog"]
    post = check_capture(captured, post)
    host = f"blog.example.com:{platform_web.port}"
    assert post["counts_read_at"] is not None
    post.pop("counts_read_at")
    assert post == {
        "format": "archiver.post/1",
        "platform": "generic",
        "id": None,
        # the Article's mainEntityOfPage (the WebPage node its @id names)
        "url": "https://blog.example.com/2024/05/14/banjir-rob-semarang/",
        # the Person node the Article's author {"@id"} points to; handle from twitter:creator
        "author": author(display_name="Rina Wulandari", handle="@rinawulan", url="https://blog.example.com/author/rina/",
                         avatar_url=f"http://secure.gravatar.com:{platform_web.port}/avatar/5f1c0a?s=96&d=mm&r=g"),
        "published": "2024-05-14T01:30:00Z",
        "published_raw": "2024-05-14T01:30:00+00:00",
        "title": "Banjir Rob Kembali Rendam Pesisir Semarang",
        # the body as shown (.entry-content of the one main <article>, not the comments'),
        # WordPress's emoji <img alt> kept
        "text": "Air laut pasang kembali masuk ke permukiman di Tambak Lorok sejak Senin pagi. Ketinggian "
                "genangan mencapai 40 sentimeter di beberapa gang 🌊\n\nMenurut BMKG, pasang maksimum "
                "diperkirakan berlangsung hingga Kamis. Warga diminta memantau peta rob yang kami perbarui "
                "setiap pagi.\n\nBaca juga laporan kami sebelumnya tentang tanggul laut.",
        "links": [
            {"kind": "link", "text": "BMKG", "url": "https://www.bmkg.go.id/"},
            {"kind": "link", "text": "peta rob", "url": "https://blog.example.com/peta-rob/"},
        ],
        "language": "id",  # inLanguage, not <html lang="id-ID">
        # the #primaryimage ImageObject (caption as alt), not the related post's or a resized one
        "media": [media("image", f"http://{host}/wp-content/uploads/2024/05/rob-tambak-lorok.jpg",
                        alt="Warga melintasi genangan rob di Tambak Lorok, Senin (13/5/2024).", width=1600, height=900)],
        "counts": [{"name": "comments", "displayed": "3", "value": 3}],
        "relations": relations(),
        "sources": [
            {"kind": "json-ld", "locator": 'script[type="application/ld+json"] Article',
             "fields": ["url", "author.display_name", "author.url", "author.avatar_url", "published", "published_raw",
                        "title", "language", "media", "counts"]},
            {"kind": "twitter-card", "locator": "meta[name^='twitter:']", "fields": ["author.handle"]},
            {"kind": "dom", "locator": "article .entry-content", "fields": ["text", "links"]},
        ],
        "extraction": {"extractor": "generic", "version": 1, "fallback_used": []},
    }


def test_opengraph_only_article(caps, platform_web):
    captured, post = caps["news"]
    post = check_capture(captured, post)
    post.pop("counts_read_at")
    assert post == {
        "format": "archiver.post/1",
        "platform": "generic",
        "id": None,
        "url": "https://news.example.org/read/2024/06/02/ferry-delays-bali-strait",
        "author": author(display_name="Dewi Lestari", handle="@dewilestari",
                         url="https://news.example.org/authors/dewi-lestari"),
        # article:published_time, not the "2h ago" <time> of the byline nor the sidebar's
        "published": "2024-06-02T00:45:00Z",
        "published_raw": "2024-06-02T07:45:00+07:00",
        "title": "Ferry delays stretch to six hours at Bali Strait crossing",
        "text": "Queues of trucks reached four kilometres at Ketapang port on Sunday as high waves slowed "
                "crossings to Gilimanuk.",
        "links": [],
        "language": "en",
        # og:image (1200x675) with its own alt, not the 800px one the page shows
        "media": [media("image", f"http://img.news.example.org:{platform_web.port}/2024/06/02/ketapang-queue_1200x675.jpg",
                        alt="Trucks queue on the road to Ketapang port at dusk", width=1200, height=675)],
        "counts": [],
        "relations": relations(),
        "sources": [
            {"kind": "opengraph", "locator": "meta[property^='og:'], meta[property^='article:']",
             "fields": ["url", "author.url", "published", "published_raw", "title", "text", "media"]},
            {"kind": "twitter-card", "locator": "meta[name^='twitter:']", "fields": ["author.handle"]},
            {"kind": "dom", "locator": "meta[name=author], meta[name=description]", "fields": ["author.display_name"]},
            {"kind": "dom", "locator": "html[lang]", "fields": ["language"]},
        ],
        "extraction": {"extractor": "generic", "version": 1, "fallback_used": []},
    }


def test_microformats_reply(caps, platform_web):
    captured, post = caps["note"]
    post = check_capture(captured, post)
    host = f"ana.example.net:{platform_web.port}"
    post.pop("counts_read_at")
    assert post == {
        "format": "archiver.post/1",
        "platform": "generic",
        "id": None,
        "url": "https://ana.example.net/2024/06/03/1/",
        # the entry's own p-author h-card, not the replied-to Bob's nor the footer card
        "author": author(display_name="Ana Sousa", url="https://ana.example.net/", avatar_url=f"http://{host}/me.jpg"),
        "published": "2024-06-03T17:05:00Z",
        "published_raw": "2024-06-03T14:05:00-03:00",
        "title": None,  # p-name is the content itself: a note, no title
        "text": "Sim! Há dez anos, e continua a funcionar. Olá @bob 👋\n\nTudo em #indieweb, com webmentions.",
        "links": [
            {"kind": "mention", "text": "@bob", "url": "https://social.example.org/@bob"},
            {"kind": "hashtag", "text": "#indieweb", "url": "https://ana.example.net/tags/indieweb/"},
        ],
        "language": "pt",  # the e-content's lang, not <html lang="en">
        # u-photo's full-size link target, not the 640px <img src>
        "media": [media("image", f"http://{host}/media/2024/06/desk-full.jpg", alt="A laptop on a wooden desk by a window")],
        "counts": [],
        "relations": relations(reply_to="https://social.example.org/@bob/112233445566"),
        "sources": [
            {"kind": "microformats", "locator": "article#note-2024-06-03-1.h-entry",
             "fields": ["author.display_name", "author.url", "author.avatar_url", "published", "published_raw",
                        "text", "language", "media", "relations.reply_to", "links"]},
            {"kind": "dom", "locator": "link[rel=canonical]", "fields": ["url"]},
        ],
        "extraction": {"extractor": "generic", "version": 1, "fallback_used": []},
    }
    prov = json.loads((captured.path / "provenance.json").read_text())
    assert prov["post"]["element_screenshot"] == "post.png"


def test_oembed_photo(caps, platform_web):
    captured, post = caps["photo"]
    post = check_capture(captured, post)
    port = platform_web.port
    post.pop("counts_read_at")
    assert post == {
        "format": "archiver.post/1",
        "platform": "generic",
        "id": None,
        "url": "https://photos.example.net/p/7Qx2Lm",
        "author": author(display_name="Lukas Hartono", url="https://photos.example.net/u/lukash/"),
        "published": None,
        "published_raw": None,
        "title": "Morning market, Pasar Gede",
        "text": None,
        "links": [],
        "language": "en",
        # a photo oEmbed's `url` is the full-size photo (not thumbnail_url)
        "media": [media("image", f"http://cdn.photos.example.net:{port}/2024/06/7Qx2Lm_o.jpg", width=2048, height=1365)],
        "counts": [],
        "relations": relations(),
        "sources": [
            {"kind": "oembed",
             "locator": f"http://photos.example.net:{port}/services/oembed?url=https%3A%2F%2Fphotos.example.net%2Fp%2F7Qx2Lm&format=json",
             "fields": ["author.display_name", "author.url", "title", "media"]},
            {"kind": "dom", "locator": "link[rel=canonical]", "fields": ["url"]},
            {"kind": "dom", "locator": "html[lang]", "fields": ["language"]},
        ],
        "extraction": {"extractor": "generic", "version": 1, "fallback_used": []},
    }


# -- merge: a platform's extractor with gaps, filled from the generic reading ---------------


@dataclass(frozen=True)
class Partial(Platform):
    """A platform whose extractor read only id, url and text (and a count)."""

    name: str = "stub"

    def extract(self, ev: PageEvidence) -> Post | None:
        return Post(
            platform="stub", id="4821", url="https://blog.example.com/?p=4821", text="Air laut pasang.",
            counts=[{"name": "likes", "displayed": "7", "value": 7}],
            sources=[Source(kind=SourceKind.DOM, locator="article#post-4821", fields=["id", "text"])],
            extraction=Extraction(extractor="stub", version=3),
        )


@dataclass(frozen=True)
class Empty(Platform):
    name: str = "stub"

    def extract(self, ev: PageEvidence) -> Post | None:
        return None


@dataclass(frozen=True)
class Broken(Platform):
    name: str = "stub"

    def extract(self, ev: PageEvidence) -> Post | None:
        raise KeyError("tgme_widget_message")


def test_merge_fills_gaps_from_generic(caps, platform_web):
    captured, _ = caps["blog"]
    ev = PageEvidence.from_capture(captured.path)
    post = extract(Partial(), ev).post
    # what the platform read stays; each empty FILLABLE/AUTHOR_FILLABLE field comes from generic
    assert (post.platform, post.id, post.url, post.text) == ("stub", "4821", "https://blog.example.com/?p=4821", "Air laut pasang.")
    assert post.extraction.extractor == "stub" and post.extraction.version == 3
    assert post.extraction.fallback_used == [
        "published", "published_raw", "author.display_name", "author.handle", "author.url", "author.avatar_url", "media",
    ]
    # title and language are never filled: og:title / <html lang> describe the page, not a post
    assert post.title is None and post.language is None
    assert post.published_raw == "2024-05-14T01:30:00+00:00"
    assert post.author.handle == "@rinawulan" and post.author.display_name == "Rina Wulandari"
    assert [m.url for m in post.media] == [f"http://blog.example.com:{platform_web.port}/wp-content/uploads/2024/05/rob-tambak-lorok.jpg"]
    # links are taken only with the text; counts and relations are never merged
    assert post.links == [] and [c.name for c in post.counts] == ["likes"] and post.relations.reply_to is None
    # the platform's sources first, then the generic sources that gave a filled field, each
    # listing only the fields taken from it
    assert [(s.kind.value, s.fields) for s in post.sources] == [
        ("dom", ["id", "text"]),
        ("json-ld", ["author.display_name", "author.url", "author.avatar_url", "published", "published_raw", "media"]),
        ("twitter-card", ["author.handle"]),
    ]
    # merge() itself: nothing to fill -> the very same post
    assert merge(post, generic.PLATFORM.extract(ev)) is post


def test_platform_without_post_gets_generic_reading(caps):
    captured, _ = caps["note"]
    ev = PageEvidence.from_capture(captured.path)
    for platform, note in ((Empty(), "stub extractor found no post; the generic reading is used"),
                           (Broken(), "stub extractor could not read the page: KeyError: 'tgme_widget_message'")):
        got = extract(platform, ev)
        assert got.platform == "stub" and got.login_required is None
        assert note in got.notes
        assert got.post.extraction.extractor == "generic" and got.post.extraction.fallback_used == []
        assert got.post.relations.reply_to == "https://social.example.org/@bob/112233445566"


# -- readings the pages above do not show (hand-made evidence, no browser) -------------------


def evidence(html: str, url: str = "https://site.example/p/1", responses=()) -> PageEvidence:
    store = ResponseStore()
    for r_url, body in responses:
        store.add(r_url, 200, "application/json", json.dumps(body).encode())
    return PageEvidence(url=url, final_url=url, html=html, store=store)


def test_video_object_and_interaction_counters():
    ld = {"@context": "https://schema.org", "@type": "VideoObject", "name": "Harbour at dawn",
          "description": "Two minutes of the\nharbour waking up.", "uploadDate": "2024-03-01T06:00:00+07:00",
          "contentUrl": "https://cdn.site.example/v/harbour.mp4", "thumbnailUrl": ["https://cdn.site.example/v/harbour.jpg"],
          "author": [{"@type": "Person", "name": "Budi", "url": "https://site.example/budi", "alternateName": "@budi"}],
          "inLanguage": {"@type": "Language", "name": "Indonesian", "alternateName": "id"},
          "interactionStatistic": [
              {"@type": "InteractionCounter", "interactionType": {"@type": "https://schema.org/WatchAction"}, "userInteractionCount": 1520},
              {"@type": "InteractionCounter", "interactionType": "https://schema.org/LikeAction", "userInteractionCount": "88"}]}
    page = f'<html><head><script type="application/ld+json">{json.dumps(ld)}</script></head><body></body></html>'
    post = generic.PLATFORM.extract(evidence(page))
    assert (post.title, post.text, post.language) == ("Harbour at dawn", "Two minutes of the\nharbour waking up.", "id")
    assert (post.published_raw, post.published.isoformat()) == ("2024-03-01T06:00:00+07:00", "2024-02-29T23:00:00+00:00")
    assert (post.author.display_name, post.author.handle, post.author.url) == ("Budi", "@budi", "https://site.example/budi")
    assert [(m.type.value, m.url, m.poster_url) for m in post.media] == [
        ("video", "https://cdn.site.example/v/harbour.mp4", "https://cdn.site.example/v/harbour.jpg")]
    assert [(c.name, c.displayed, c.value) for c in post.counts] == [("views", "1520", 1520), ("likes", "88", 88)]


def test_og_video_rich_oembed_and_repost():
    page = """<html lang="en"><head>
      <meta property="og:type" content="video.other"><meta property="og:title" content="Clip">
      <meta property="og:image" content="https://img.site.example/poster.jpg">
      <meta property="og:video" content="https://cdn.site.example/clip.mp4"><meta property="og:video:width" content="1280">
      <meta property="og:video:height" content="720">
      <link rel="alternate" type="application/json+oembed" href="https://site.example/oembed?url=https%3A%2F%2Fsite.example%2Fp%2F1">
      </head><body>
      <aside><div class="h-entry"><a class="u-url" href="/other">other</a><p class="e-content">sidebar</p></div></aside>
      <div class="h-entry"><a class="u-repost-of h-cite" href="https://elsewhere.example/status/9">a post</a>
      <time class="dt-published" datetime="2024-01-02T03:04:05Z">Jan 2</time></div></body></html>"""
    oembed = {"version": "1.0", "type": "rich", "author_name": "Sari", "author_url": "https://site.example/@sari",
              "html": '<blockquote class="post-embed"><p lang="id">Pagi di <a href="https://site.example/tags/pelabuhan">#pelabuhan</a></p>'
                      '&mdash; Sari (@sari) <a href="https://site.example/p/1">2 Jan 2024</a></blockquote><script async src="x.js"></script>'}
    post = generic.PLATFORM.extract(evidence(page, responses=[("https://site.example/oembed?url=https%3A%2F%2Fsite.example%2Fp%2F1", oembed)]))
    assert post.relations.repost_of == "https://elsewhere.example/status/9"
    assert post.published_raw == "2024-01-02T03:04:05Z"  # the main h-entry's, not the sidebar's
    assert (post.text, post.language, post.title) == ("Pagi di #pelabuhan", "id", "Clip")
    assert [(lk.kind.value, lk.text) for lk in post.links] == [("hashtag", "#pelabuhan")]
    assert (post.author.display_name, post.author.url) == ("Sari", "https://site.example/@sari")
    assert [(m.type.value, m.url, m.poster_url, m.width, m.height) for m in post.media] == [
        ("video", "https://cdn.site.example/clip.mp4", "https://img.site.example/poster.jpg", 1280, 720)]


def test_no_post_on_a_bare_page():
    assert generic.PLATFORM.extract(evidence("<html lang='en'><body><p>hello</p></body></html>")) is None
    assert generic.PLATFORM.matches("https://blog.example.com/2024/05/14/x/") is False
    assert generic.PLATFORM.post_selectors("https://blog.example.com/")[0] == "main .h-entry"
