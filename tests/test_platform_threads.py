"""Threads post pages captured with the real browser from the fixture site: server-rendered
markup with the post's data in <script type="application/json" data-sjs> blobs, a login
dialog, more replies paged through /graphql/query; the pipeline writes post.json, post.png
and archives the carousel's full-size image and video."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fixtures.platform_web import MEDIA
from helpers import capture_post, provenance, responses, warc_records, assert_post_shot

from archiver.platforms.evidence import PageEvidence
from archiver.platforms.threads import PLATFORM, post_code, unwrap_link

POST = "/@nasa/post/C8wQx2LsN4k"
PRIVATE = "/@nasa_private/post/C8zPrIvAtE1"
IMG_Q = "efg=eyJ2ZW5jb2RlX3RhZyI6IkNBUk9VU0VMX0lURU0ifQ&_nc_ht=scontent-iad3-1.cdninstagram.com&_nc_ohc=Qx7k&oh=00_AYC&oe=667B2C3D"
VID_Q = ("efg=eyJ2ZW5jb2RlX3RhZyI6InZ0c192b2RfdXJsZ2VuLmNsaXBzLmMyLjcyMC5iYXNlbGluZSJ9"
         "&_nc_ht=scontent-iad3-2.cdninstagram.com&_nc_cat=104&vs=1a2b3c&oh=00_AYD&oe=667C3D4E")


@pytest.fixture(scope="module")
def thread(engine, platform_web):
    return capture_post(engine, platform_web.url("www.threads.com", POST))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_post_every_field(thread, platform_web):
    captured, post = thread
    assert post is not None, provenance(captured)["post"]
    port = platform_web.port
    img = f"http://scontent-iad3-1.cdninstagram.com:{port}"
    vid = f"http://scontent-iad3-2.cdninstagram.com:{port}"
    assert post.pop("counts_read_at")
    media = post.pop("media")
    sources = post.pop("sources")
    assert post == {
        "format": "archiver.post/1",
        "platform": "threads",
        "id": "C8wQx2LsN4k",
        "url": "https://www.threads.com/@nasa/post/C8wQx2LsN4k",
        "author": {
            "display_name": "NASA",
            "handle": "@nasa",
            "url": "https://www.threads.com/@nasa",
            "id": "1416386006",
            "avatar_url": f"{img}/v/t51.2885-19/447855743_1190457192160541_2398763546327818496_n.jpg"
                          "?stp=dst-jpg_s150x150&_nc_ht=scontent-iad3-1.cdninstagram.com&_nc_cat=1&oh=00_AYB&oe=667A1B2C",
            "verified": True,
        },
        "published": "2024-06-20T15:33:20Z",
        "published_raw": "1718897600",
        "title": None,  # Threads posts have none; og:title is the page's name
        "text": "Congratulations @esa! 🎉 Incredible views from Juice. More on the mission: nasa.gov/juice\n\n"
                "Here are our own shots from the flyby 👇",
        "links": [
            {"kind": "mention", "text": "@esa", "url": "https://www.threads.com/@esa"},
            {"kind": "link", "text": "nasa.gov/juice", "url": "https://www.nasa.gov/mission/juice/"},
        ],
        "language": None,  # not stated for the post (<html lang> is the interface's)
        "counts": [
            {"name": "likes", "displayed": "4.3K", "value": 4300},
            {"name": "replies", "displayed": "56", "value": 56},
            {"name": "reposts", "displayed": "210", "value": 210},
            {"name": "shares", "displayed": "35", "value": 35},
        ],
        "relations": {
            "reply_to": "https://www.threads.com/@esa/post/C8wO1mRt0aB",
            "quote_of": "https://www.threads.com/@nasajpl/post/C8u9ZpQmW3e",
            "repost_of": None,
            "thread_root": "https://www.threads.com/@esa/post/C8wO1mRt0aB",
        },
        "extraction": {"extractor": "threads", "version": 1, "fallback_used": []},
    }
    image_url = f"{img}/v/t51.29350-15/449923456_2002_8899001122334455667_n.jpg?{IMG_Q}"
    video_url = f"{vid}/o1/v/t16/f1/m82/9A4B3C2D1E0F_video_dashinit.mp4?{VID_Q}"
    first, second = (captured.path / m["path"] for m in media)
    assert media == [
        {"type": "image", "url": image_url, "alt": "Photo by NASA on June 20, 2024. May be an image of the Earth and the Moon.",
         "width": 1440, "height": 1800, "poster_url": None, "path": "media/01.jpg", "sha256": sha256(first),
         "size": first.stat().st_size, "media_type": "image/jpeg", "origin": "fetched", "warc_uri": image_url, "note": None},
        {"type": "video", "url": video_url, "alt": None, "width": 1080, "height": 1920,
         "poster_url": f"{img}/v/t51.29350-15/449934567_3003_9900112233445566778_n.jpg?{IMG_Q}",
         "path": "media/02.mp4", "sha256": sha256(MEDIA / "clip.mp4"), "size": (MEDIA / "clip.mp4").stat().st_size,
         "media_type": "video/mp4", "origin": "fetched", "warc_uri": video_url, "note": None},
    ]
    assert sha256(second) == media[1]["sha256"]
    from PIL import Image

    assert Image.open(first).size == (1440, 1800)  # the full-size candidate, not the 320/640 the page showed
    assert sources[0] == {
        "kind": "embedded-json",
        "locator": 'script[type="application/json"][data-sjs] (adp_BarcelonaPostPageDirectQueryRelayPreloader_6674a1b2c3d4e5f60718293a4)',
        "fields": ["id", "url", "author.display_name", "author.handle", "author.url", "author.id", "author.avatar_url",
                   "author.verified", "published", "text", "links", "media", "relations.reply_to", "relations.quote_of",
                   "relations.thread_root"],
    }
    assert sources[1]["kind"] == "dom" and sources[1]["fields"] == ["counts"]
    assert sources[1]["locator"].startswith('div[data-pressable-container="true"]:has(a[href$="/post/C8wQx2LsN4k"] time)')
    assert len(sources) == 2
    assert_post_shot(captured.path)
    outcome = provenance(captured)["post"]
    assert outcome["element_screenshot"] == "post.png" and outcome["media_archived"] == 2 and outcome["media_missing"] == 0


def test_behaviours_close_login_and_open_replies(thread):
    captured, _ = thread
    done = {b["name"]: b for b in provenance(captured)["behaviours"]}
    assert done["threads-close-login"]["actions"] == [
        "closed the login dialog 'Say more with Threads' ([role=dialog] [aria-label=Close])",
        "hid the 'Log in or sign up for Threads' bar",
    ]
    assert done["threads-replies"]["actions"] == ["clicked 'View more replies' (round 1)", "1 more replies shown"]
    ev = PageEvidence.from_capture(captured.path)
    assert not ev.select('[role="dialog"]')
    assert "display: none" in ev.first("#login-bar").get("style")
    permalinks = [next(time.iterancestors("a")).get("href") for time in ev.select('div[data-pressable-container="true"] time')]
    assert permalinks == ["/@esa/post/C8wO1mRt0aB", "/@nasa/post/C8wQx2LsN4k", "/@nasajpl/post/C8u9ZpQmW3e",
                       "/@astro_kat/post/C8wT7hJkL2m", "/@spacefan_id/post/C8wU0pQrS5t", "/@orbit_obs/post/C8wZ9vWxY1z"]
    (page2,) = responses(warc_records(captured.path / "archive.warc.gz"), "/graphql/query")
    assert b"C8wZ9vWxY1z" in page2["payload"]


def test_dom_only_reading(thread, platform_web):
    """Without the JSON blobs the post is read from its rendered container."""
    captured, _ = thread
    ev = PageEvidence.from_capture(captured.path)
    for script in ev.select('script[type="application/json"][data-sjs]'):
        script.getparent().remove(script)
    ev.store.responses.clear()
    post = PLATFORM.extract(ev)
    assert post is not None
    img = f"http://scontent-iad3-1.cdninstagram.com:{platform_web.port}"
    assert (post.id, post.url) == ("C8wQx2LsN4k", "https://www.threads.com/@nasa/post/C8wQx2LsN4k")
    assert (post.author.handle, post.author.verified) == ("@nasa", True)
    assert post.author.avatar_url.startswith(f"{img}/v/t51.2885-19/447855743_")
    assert post.published_raw == "2024-06-20T15:33:20.000Z"
    assert post.text == ("Congratulations @esa! 🎉 Incredible views from Juice. More on the mission: nasa.gov/juice\n\n"
                         "Here are our own shots from the flyby 👇")
    assert [(link.kind.value, link.text, link.url) for link in post.links] == [
        ("mention", "@esa", "https://www.threads.com/@esa"),
        ("link", "nasa.gov/juice", "https://www.nasa.gov/mission/juice/")]
    assert [m.type.value for m in post.media] == ["image", "video"]
    assert post.media[0].alt == "Photo by NASA on June 20, 2024. May be an image of the Earth and the Moon."
    assert "stp=dst-jpg_e35_p750x750" in post.media[0].url  # the widest srcset candidate the page named
    assert [(c.name, c.displayed) for c in post.counts] == [("likes", "4.3K"), ("replies", "56"), ("reposts", "210"), ("shares", "35")]
    assert [s.kind.value for s in post.sources] == ["url", "dom"]


def test_login_wall(engine, platform_web):
    captured, post = capture_post(engine, platform_web.url("www.threads.com", PRIVATE))
    outcome = provenance(captured)["post"]
    assert outcome["login_required"] == "Threads sent the page to its login page (/login)"
    assert post is None and outcome["found"] is False and outcome["element_screenshot"] is None
    assert "the page is a login wall: its metadata is not taken for the post" in outcome["notes"]
    ev = PageEvidence.from_capture(captured.path)
    assert PLATFORM.login_wall(ev) in ("Threads sent the page to its login page (/login)", "a Threads login form and no post")


def test_urls():
    assert post_code("http://www.threads.com:4100/@nasa/post/C8wQx2LsN4k?xmt=1") == "C8wQx2LsN4k"
    assert post_code("https://www.threads.net/t/C8wQx2LsN4k") == "C8wQx2LsN4k"
    assert post_code("https://www.threads.net/@nasa") is None
    assert PLATFORM.matches("http://www.threads.com:4100/@nasa/post/x") and PLATFORM.matches("https://threads.net/@a/post/b")
    assert unwrap_link("https://l.threads.net/?u=https%3A%2F%2Fex.com%2Fa%3Fb%3D1&e=AT0") == "https://ex.com/a?b=1"
