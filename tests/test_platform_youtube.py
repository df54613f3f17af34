"""YouTube (archiver/platforms/youtube.py) on real captures.

Fixtures (tests/fixtures/platforms/youtube/): a watch page whose content is rendered by a
stand-in desktop_polymer.js from `var ytInitialPlayerResponse` / `var ytInitialData` (player
paused behind its large play button, description collapsed behind "...more", comments
fetched from /youtubei/v1/next when scrolled to, related videos beside), and a Shorts page
behind the European consent interstitial (consent.youtube.com, "Reject all" / "Accept all").
The tests' settings switch yt-dlp off: the video item stays without a file, with a note.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from helpers import capture_post, assert_post_shot

from archiver.platforms import youtube
from archiver.platforms.evidence import PageEvidence
from archiver.platforms.extract import extract

WATCH = "/watch?v=Xk3bR9dPq2A"
SHORTS = "/shorts/Ts7uVb0Lm4Q"
PIPELINE_MEDIA = ("path", "sha256", "size", "media_type", "origin", "warc_uri", "note")
DESCRIPTION = ("Air laut pasang kembali masuk ke permukiman di Tambak Lorok, Semarang 🌊 Liputan lengkap: "
               "https://blog.example.com/2024/05/14/banjir-rob-semarang/\n\nTerima kasih @rinawulan untuk rekamannya.\n\n"
               "#banjirrob #semarang")
PLAYER = "script: var ytInitialPlayerResponse"
DATA = "script: var ytInitialData"


@pytest.fixture(scope="module")
def caps(engine, platform_web):
    return {
        "watch": capture_post(engine, platform_web.url("www.youtube.com", WATCH)),
        "shorts": capture_post(engine, platform_web.url("www.youtube.com", SHORTS)),
        "wall": capture_post(engine, platform_web.url("www.youtube.com", SHORTS), platforms={"behaviours": False}),
    }


def provenance(captured) -> dict:
    return json.loads((captured.path / "provenance.json").read_text())


def split_media(captured, post) -> tuple[dict, dict]:
    """(the video item, the thumbnail item) after checking what the media stage did: the
    thumbnail archived with its sha256, the watch URL left to yt-dlp (off in tests)."""
    video, image = post["media"]
    assert video["path"] is None and video["note"] == "not loaded by the page"
    data = (captured.path / image["path"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == image["sha256"] and image["media_type"] == "image/jpeg"
    strip = lambda m: {k: v for k, v in m.items() if k not in PIPELINE_MEDIA}  # noqa: E731
    return strip(video), strip(image)


def test_watch_page(caps, platform_web):
    captured, post = caps["watch"]
    assert post is not None
    assert_post_shot(captured.path)
    assert post.pop("counts_read_at") is not None
    video, image = split_media(captured, post)
    thumb = f"http://i.ytimg.com:{platform_web.port}/vi/Xk3bR9dPq2A/maxresdefault.jpg"
    assert (video, image) == (
        {"type": "video", "url": "https://www.youtube.com/watch?v=Xk3bR9dPq2A", "alt": None, "width": 1920, "height": 1080,
         "poster_url": thumb},
        {"type": "image", "url": thumb, "alt": None, "width": 1280, "height": 720, "poster_url": None},
    )
    post.pop("media")
    assert post == {
        "format": "archiver.post/1",
        "platform": "youtube",
        "id": "Xk3bR9dPq2A",
        "url": "https://www.youtube.com/watch?v=Xk3bR9dPq2A",
        "author": {"display_name": "Kabar Pesisir", "handle": "@kabarpesisir", "url": "https://www.youtube.com/@kabarpesisir",
                   "id": "UC4pQz7vKb9PesisirNw3Xgq", "verified": True,
                   "avatar_url": f"http://yt3.ggpht.com:{platform_web.port}/ytc/AIdro_kP3sQm9PesisirAvatar=s176-c-k-c0x00ffffff-no-rj"},
        "published": "2024-05-14T12:00:11Z",
        "published_raw": "2024-05-14T05:00:11-07:00",
        "title": "Banjir rob Semarang: warga bertahan di Tambak Lorok",
        "text": DESCRIPTION,
        "links": [  # commandRuns of attributedDescription: youtube.com/redirect?q= unwrapped
            {"kind": "link", "text": "https://blog.example.com/2024/05/14/banjir-rob-semarang/",
             "url": "https://blog.example.com/2024/05/14/banjir-rob-semarang/"},
            {"kind": "mention", "text": "@rinawulan", "url": "https://www.youtube.com/@rinawulan"},
            {"kind": "hashtag", "text": "#banjirrob", "url": "https://www.youtube.com/hashtag/banjirrob"},
            {"kind": "hashtag", "text": "#semarang", "url": "https://www.youtube.com/hashtag/semarang"},
        ],
        "language": "id",  # the automatic-captions track, not the UI's <html lang="en">
        "counts": [
            {"name": "views", "displayed": "48,213", "value": 48213},
            {"name": "likes", "displayed": "1,204", "value": 1204},  # the like button's label, not its "1.2K"
            {"name": "comments", "displayed": "312", "value": 312},
        ],
        "relations": {"reply_to": None, "quote_of": None, "repost_of": None, "thread_root": None},
        "sources": [
            {"kind": "embedded-json", "locator": PLAYER,
             "fields": ["id", "url", "title", "author.display_name", "author.id", "published", "published_raw", "text",
                        "language", "media"]},
            {"kind": "embedded-json", "locator": DATA,
             "fields": ["author.handle", "author.url", "author.avatar_url", "author.verified", "links", "counts"]},
        ],
        "extraction": {"extractor": "youtube", "version": 1, "fallback_used": []},
    }


def test_watch_page_behaviours(caps, platform_web):
    captured, _ = caps["watch"]
    prov = provenance(captured)
    actions = {b["name"]: b["actions"] for b in prov["behaviours"]}
    assert list(actions) == ["consent", "youtube-play", "youtube-expand", "play-videos"]
    assert actions["youtube-play"] == ["started the video muted with the player API (#movie_player.playVideo)"]
    assert actions["youtube-expand"] == [
        "expanded the description ('...more', #description-inline-expander #expand)",
        "loaded the first page of comments (2 threads, ytd-comments#comments)",
    ]
    assert actions["play-videos"] == []  # the player was already running
    dom = (captured.path / "dom.html").read_text()
    ev = PageEvidence(url=prov["requested_url"], final_url=prov["final_url"], html=dom)
    expander = ev.first("#description-inline-expander")
    assert expander.get("is-expanded") is not None
    assert "Terima kasih @rinawulan untuk rekamannya." in expander.cssselect("#expanded")[0].text_content()
    assert len(ev.select("ytd-comments#comments ytd-comment-thread-renderer")) == 2
    assert "playing-mode" in ev.first("#movie_player").get("class")
    # the stream the player started, and the comments API response, are in the WARC
    seen = [r.url for r in PageEvidence.from_capture(captured.path).store.responses]
    assert any("/youtubei/v1/next" in u for u in seen)
    from helpers import warc_records
    # (a revisit when an earlier capture of the session recorded the same bytes)
    assert any(r["uri"] and "googlevideo.com:" in r["uri"] and "/videoplayback?" in r["uri"] and r["type"] in ("response", "revisit")
               for r in warc_records(captured.path / "archive.warc.gz"))


def test_shorts_after_the_consent_page(caps, platform_web):
    captured, post = caps["shorts"]
    prov = provenance(captured)
    consent = next(b for b in prov["behaviours"] if b["name"] == "consent")
    assert consent["actions"] == ["clicked 'Reject all' (form[action*=\"consent.youtube.com\"] button[aria-label^=\"Reject\"])"]
    assert prov["post"]["login_required"] is None
    assert_post_shot(captured.path)
    assert post.pop("counts_read_at") is not None
    video, image = split_media(captured, post)
    thumb = f"http://i.ytimg.com:{platform_web.port}/vi/Ts7uVb0Lm4Q/maxresdefault.jpg"
    assert video == {"type": "video", "url": "https://www.youtube.com/shorts/Ts7uVb0Lm4Q", "alt": None,
                     "width": 1080, "height": 1920, "poster_url": thumb}
    assert image["url"] == thumb
    post.pop("media")
    assert post == {
        "format": "archiver.post/1",
        "platform": "youtube",
        "id": "Ts7uVb0Lm4Q",
        "url": "https://www.youtube.com/shorts/Ts7uVb0Lm4Q",
        # reelPlayerHeaderRenderer: no subscriber line or badges there, so verified is unknown
        "author": {"display_name": "Kabar Pesisir", "handle": "@kabarpesisir", "url": "https://www.youtube.com/@kabarpesisir",
                   "id": "UC4pQz7vKb9PesisirNw3Xgq", "verified": None,
                   "avatar_url": f"http://yt3.ggpht.com:{platform_web.port}/ytc/AIdro_kP3sQm9PesisirAvatar=s88-c-k-c0x00ffffff-no-rj"},
        "published": "2024-05-15T07:12:40Z",
        "published_raw": "2024-05-15T00:12:40-07:00",
        "title": "Air naik 20 cm dalam 10 menit #shorts",
        "text": "Rekaman warga di Bandarharjo pagi ini.",
        "links": [],
        # no captions track states the spoken language (<html lang="en"> is the UI's)
        "language": None,
        "counts": [
            {"name": "views", "displayed": "912345", "value": 912345},  # videoDetails.viewCount
            {"name": "likes", "displayed": "31,204", "value": 31204},
            {"name": "comments", "displayed": "487", "value": 487},
        ],
        "relations": {"reply_to": None, "quote_of": None, "repost_of": None, "thread_root": None},
        "sources": [
            {"kind": "embedded-json", "locator": PLAYER,
             "fields": ["id", "url", "title", "author.display_name", "author.id", "published", "published_raw", "text",
                        "media", "counts"]},
            {"kind": "embedded-json", "locator": DATA, "fields": ["author.handle", "author.url", "author.avatar_url", "counts"]},
        ],
        "extraction": {"extractor": "youtube", "version": 1, "fallback_used": []},
    }


def test_consent_page_is_a_wall_when_the_video_did_not_load(caps):
    captured, post = caps["wall"]
    prov = provenance(captured)
    assert prov["post"]["login_required"] == (
        "the YouTube cookie consent page (consent.youtube.com) was shown; the video page did not load")
    assert prov["behaviours"] == [] and post is None


def test_fallbacks_without_the_player_json(caps, platform_web):
    captured, _ = caps["watch"]
    ev = PageEvidence.from_capture(captured.path)
    # the page without its script blobs: id/URL from the URL, title/media from og:, the text
    # from the generic reading (og:description) through merge()
    for script in ev.doc.xpath("//script[not(@src)]"):
        script.text = ""
    ev.store.responses = []
    post = extract(youtube.PLATFORM, ev).post
    assert (post.id, post.url, post.extraction.extractor) == ("Xk3bR9dPq2A", "https://www.youtube.com/watch?v=Xk3bR9dPq2A", "youtube")
    assert post.title == "Banjir rob Semarang: warga bertahan di Tambak Lorok"
    assert post.text.startswith("Air laut pasang kembali") and post.language is None
    assert post.extraction.fallback_used == ["text"]
    assert [(m.type.value, m.url) for m in post.media] == [
        ("video", "https://www.youtube.com/watch?v=Xk3bR9dPq2A"),
        ("image", f"http://i.ytimg.com:{platform_web.port}/vi/Xk3bR9dPq2A/maxresdefault.jpg")]


def test_urls_and_signin_wall():
    p = youtube.PLATFORM
    assert youtube.parse_url("https://youtu.be/Xk3bR9dPq2A?t=42") == ("Xk3bR9dPq2A", "watch")
    assert youtube.parse_url("http://www.youtube.com:9000/watch?v=Xk3bR9dPq2A&feature=youtu.be") == ("Xk3bR9dPq2A", "watch")
    assert youtube.parse_url("https://m.youtube.com/shorts/Ts7uVb0Lm4Q") == ("Ts7uVb0Lm4Q", "shorts")
    assert youtube.parse_url("https://www.youtube.com/live/Xk3bR9dPq2A") == ("Xk3bR9dPq2A", "watch")
    assert youtube.parse_url("https://www.youtube.com/@kabarpesisir") is None
    assert youtube.parse_url("https://consent.youtube.com/m?continue=x") is None
    assert p.matches("https://youtu.be/Xk3bR9dPq2A") and not p.matches("https://example.com/watch?v=Xk3bR9dPq2A")
    player = {"playabilityStatus": {"status": "LOGIN_REQUIRED", "reason": "Sign in to confirm your age"}}
    html = f"<html><body><script>var ytInitialPlayerResponse = {json.dumps(player)};var meta = 1;</script></body></html>"
    ev = PageEvidence(url="https://www.youtube.com/watch?v=Xk3bR9dPq2A", final_url="https://www.youtube.com/watch?v=Xk3bR9dPq2A", html=html)
    assert p.login_wall(ev) == "YouTube asks to sign in: Sign in to confirm your age"
    assert p.extract(ev) is None
