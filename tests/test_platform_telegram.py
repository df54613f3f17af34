"""Telegram (archiver/platforms/telegram.py) on real captures of t.me pages.

Fixtures (tests/fixtures/platforms/telegram/): the channel preview t.me/s/kabarpesisir/<id>
(four messages: a text post, an album, the requested reply with photo/emoji/links/reactions,
a forwarded video; channel column with a verified badge), the post page
t.me/kabarpesisir/123 (og: tags + telegram-widget.js, which loads the ?embed=1 iframe), and a
channel without public preview (t.me/s/... redirects to its "View in Telegram" page).
"""

from __future__ import annotations

import hashlib
import json

import pytest
from helpers import capture_post, assert_post_shot

from archiver.platforms import telegram
from archiver.platforms.evidence import PageEvidence
from archiver.platforms.extract import extract

PIPELINE_MEDIA = ("path", "sha256", "size", "media_type", "origin", "warc_uri", "note")
TEXT = ("Rob kembali masuk Tambak Lorok 🌊\n\nKetinggian air 40 cm di beberapa gang, info pasang di bmkg.go.id. "
        "Foto: @rinawulan\n\n#banjirrob #semarang")
MESSAGE_FIELDS = ["id", "url", "author.display_name", "author.handle", "author.url", "author.avatar_url", "published",
                  "published_raw", "text", "links", "media", "counts"]


@pytest.fixture(scope="module")
def caps(engine, platform_web):
    paths = {"s123": "/s/kabarpesisir/123", "s125": "/s/kabarpesisir/125", "page": "/kabarpesisir/123",
             "wall": "/s/pesisirtertutup/77"}
    return {name: capture_post(engine, platform_web.url("t.me", path)) for name, path in paths.items()}


def archived(captured, post) -> dict:
    """post.json with its media checked against the archived files, then without the
    pipeline's media fields and counts_read_at."""
    assert post is not None
    assert_post_shot(captured.path)
    assert post["counts_read_at"] is not None
    for m in post["media"]:
        data = (captured.path / m["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == m["sha256"] and m["size"] == len(data)
        assert m["origin"] in ("recorded", "fetched") and m["note"] is None
    out = {k: v for k, v in post.items() if k != "counts_read_at"}
    out["media"] = [{k: v for k, v in m.items() if k not in PIPELINE_MEDIA} for m in post["media"]]
    return out


def provenance(captured) -> dict:
    return json.loads((captured.path / "provenance.json").read_text())


def links(port: int, base: str) -> list[dict]:
    return [
        {"kind": "link", "text": "bmkg.go.id", "url": "https://www.bmkg.go.id/"},
        {"kind": "mention", "text": "@rinawulan", "url": "https://t.me/rinawulan"},
        # t.me writes hashtags as href="?q=%23tag": resolved against the page that showed them
        {"kind": "hashtag", "text": "#banjirrob", "url": f"http://t.me:{port}{base}?q=%23banjirrob"},
        {"kind": "hashtag", "text": "#semarang", "url": f"http://t.me:{port}{base}?q=%23semarang"},
    ]


def expected_123(port: int, verified, base: str, sources: list[dict]) -> dict:
    cdn = f"http://cdn4.telesco.pe:{port}/file"
    return {
        "format": "archiver.post/1",
        "platform": "telegram",
        "id": "123",
        "url": "https://t.me/kabarpesisir/123",
        "author": {"display_name": "Kabar Pesisir", "handle": "@kabarpesisir", "url": "https://t.me/kabarpesisir",
                   "id": None, "avatar_url": f"{cdn}/Hk2vV7dQ0aPesisirAvatar160.jpg", "verified": verified},
        "published": "2024-05-14T02:15:42Z",
        "published_raw": "2024-05-14T02:15:42+00:00",
        "title": None,
        "text": TEXT,
        "links": links(port, base),
        "language": None,
        "media": [{"type": "image", "url": f"{cdn}/bX7pQ2rk9LmT0123a.jpg", "alt": None, "width": None, "height": None,
                   "poster_url": None}],
        "counts": [
            {"name": "views", "displayed": "12.3K", "value": 12300},
            {"name": "reactions:👍", "displayed": "1.47K", "value": 1470},
            {"name": "reactions:❤", "displayed": "312", "value": 312},
        ],
        "relations": {"reply_to": "https://t.me/kabarpesisir/120", "quote_of": None, "repost_of": None, "thread_root": None},
        "sources": sources,
        "extraction": {"extractor": "telegram", "version": 1, "fallback_used": []},
    }


def test_channel_preview_picks_the_requested_message(caps, platform_web):
    captured, post = caps["s123"]
    assert archived(captured, post) == expected_123(platform_web.port, True, "/s/kabarpesisir/123", [
        {"kind": "dom", "locator": 'div.tgme_widget_message[data-post="kabarpesisir/123"]',
         "fields": MESSAGE_FIELDS + ["relations.reply_to"]},
        {"kind": "dom", "locator": ".tgme_channel_info", "fields": ["author.verified"]},
    ])
    prov = provenance(captured)
    assert prov["post"]["element_screenshot"] == "post.png" and prov["post"]["login_required"] is None
    assert [b["name"] for b in prov["behaviours"]] == ["consent", "play-videos"]


def test_forwarded_video_on_the_same_page(caps, platform_web):
    captured, post = caps["s125"]
    cdn = f"http://cdn4.telesco.pe:{platform_web.port}/file"
    post = archived(captured, post)
    assert (post["id"], post["url"], post["text"]) == (
        "125", "https://t.me/kabarpesisir/125", "Peringatan dini gelombang tinggi 2,5–4 m di Laut Jawa bagian tengah.")
    assert post["author"]["display_name"] == "Kabar Pesisir"  # the channel that forwarded it
    assert post["relations"] == {"reply_to": None, "quote_of": None, "repost_of": "https://t.me/infobmkgjateng/4410",
                                 "thread_root": None}
    assert post["media"] == [{"type": "video", "url": f"{cdn}/2f8c1e4d7a.mp4?token=Xk3l9QmT", "alt": None, "width": None,
                              "height": None, "poster_url": f"{cdn}/vT9thumb125.jpg"}]
    assert post["counts"] == [{"name": "views", "displayed": "3,104", "value": 3104}]
    assert post["published_raw"] == "2024-05-14T04:00:05+00:00" and post["links"] == []
    assert post["sources"][0]["fields"] == MESSAGE_FIELDS + ["relations.repost_of"]
    media_file = captured.path / json.loads((captured.path / "post.json").read_text())["media"][0]["path"]
    assert media_file.read_bytes()[4:8] == b"ftyp"  # the whole mp4
    started = [a for b in provenance(captured)["behaviours"] if b["name"] == "play-videos" for a in b["actions"]]
    assert any("2f8c1e4d7a.mp4" in a for a in started)


def test_post_page_reads_the_recorded_widget(caps, platform_web):
    captured, post = caps["page"]
    port = platform_web.port
    # the same message, from the iframe's recorded HTML; no channel column there: verified unknown
    assert archived(captured, post) == expected_123(port, None, "/kabarpesisir/123", [
        {"kind": "response", "locator": f"http://t.me:{port}/kabarpesisir/123?embed=1&mode=tme",
         "fields": MESSAGE_FIELDS + ["relations.reply_to"]},
    ])
    assert provenance(captured)["post"]["element_screenshot"] == "post.png"  # the widget iframe


def test_channel_without_preview_is_a_wall(caps):
    captured, post = caps["wall"]
    prov = provenance(captured)
    assert prov["post"]["login_required"] == (
        "t.me shows only the 'View in Telegram' page of pesisirtertutup: message 77 has no public web preview")
    # the channel page's og:description is not taken for the post
    assert "the page is a login wall: its metadata is not taken for the post" in prov["post"]["notes"]
    assert post is None and prov["post"]["found"] is False


def test_album_and_og_fallback(caps, platform_web):
    captured, _ = caps["s123"]
    ev = PageEvidence.from_capture(captured.path)
    ev.url = ev.final_url = ev.final_url.replace("/123", "/121")
    album = telegram.PLATFORM.extract(ev)
    cdn = f"http://cdn4.telesco.pe:{platform_web.port}/file"
    assert (album.id, album.text, album.relations.reply_to) == ("121", None, None)
    assert [m.url for m in album.media] == [f"{cdn}/aQ4rT0ubk121a.jpg", f"{cdn}/aQ4rT0ubk121b.jpg"]
    # the post page without its widget response: og: tags only, and the sources say so
    page, _ = caps["page"]
    ev = PageEvidence.from_capture(page.path)
    ev.store.responses = [r for r in ev.store.responses if "embed=1" not in r.url]
    post = extract(telegram.PLATFORM, ev).post
    assert (post.id, post.url, post.text) == ("123", "https://t.me/kabarpesisir/123", TEXT)
    assert (post.author.display_name, post.author.handle) == ("Kabar Pesisir", "@kabarpesisir")
    assert [m.url for m in post.media] == [f"{cdn}/bX7pQ2rk9LmT0123a.jpg"]
    assert [s.kind.value for s in post.sources] == ["opengraph", "url"]
    assert "widget was not recorded" in post.sources[0].locator
    assert post.extraction.fallback_used == []


def test_urls():
    p = telegram.PLATFORM
    assert telegram.parse_url("https://t.me/s/durov/123") == ("durov", "123", True)
    assert telegram.parse_url("http://t.me:8080/durov/123?single") == ("durov", "123", False)
    assert telegram.parse_url("https://t.me/durov") is None and telegram.parse_url("https://x.com/durov/123") is None
    assert p.matches("https://telegram.me/durov/1") and not p.matches("https://example.com/t.me/durov/1")
    assert p.post_selectors("https://t.me/s/durov/123")[0] == '.tgme_widget_message[data-post="durov/123" i]'
    private = PageEvidence(url="https://t.me/c/1234567/89", final_url="https://t.me/c/1234567/89", html="<html></html>")
    assert "private channels" in p.login_wall(private)
