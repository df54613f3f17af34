"""TikTok: a video page captured with the real browser (fixture: tests/fixtures/platforms/tiktok/),
its post.json field by field, the archived video, the behaviours (login modal, comments and
replies), the private-account login wall, and the readers the fixture page does not use
(the /api/item/detail/ response, the DOM alone)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from helpers import capture_post, provenance, responses, warc_records, assert_post_shot

from archiver.platforms.evidence import PageEvidence, ResponseStore
from archiver.platforms.extract import extract_capture
from archiver.platforms.tiktok import PLATFORM

VIDEO = "/@nasa.earth/video/7341301699830336789"
PRIVATE = "/@quiet.person/video/7341344649435395555"
FIXTURES = Path(__file__).parent / "fixtures" / "platforms" / "tiktok"
DESC = (
    "Sunrise over the Amazon rainforest, seen from the station by @iss \U0001F305 One orbit, 90 minutes, "
    "16 sunrises a day. #earth #fromspace #nasa"
)
STATE = 'script#__UNIVERSAL_DATA_FOR_REHYDRATION__ __DEFAULT_SCOPE__["webapp.video-detail"].itemInfo.itemStruct'


@pytest.fixture(scope="module")
def video(engine, platform_web):
    captured, post = capture_post(engine, platform_web.url("www.tiktok.com", VIDEO))
    return captured, post


def play_url(port: int) -> str:
    return _state(port)["__DEFAULT_SCOPE__"]["webapp.video-detail"]["itemInfo"]["itemStruct"]["video"]["playAddr"]


def test_video_post_every_field(video, platform_web):
    captured, post = video
    port = platform_web.port
    assert post is not None, "no post.json"
    cdn = f"http://p16-sign-va.tiktokcdn.com:{port}"
    media = post.pop("media")
    sources = post.pop("sources")
    assert post.pop("counts_read_at")  # set by the pipeline when it read the counts
    assert post == {
        "format": "archiver.post/1",
        "platform": "tiktok",
        "id": "7341301699830336789",
        "url": "https://www.tiktok.com/@nasa.earth/video/7341301699830336789",
        "author": {
            "display_name": "NASA Earth",
            "handle": "@nasa.earth",
            "url": "https://www.tiktok.com/@nasa.earth",
            "id": "6779153722830210053",
            "avatar_url": f"{cdn}/tos-maliva-avt-0068/7e1a9c05d4e3b0c2f6a8d1b9e7c4a2f0~c5_1080x1080.jpeg"
            "?lk3s=a5d48078&x-expires=1709452800&x-signature=Kp4Rz2%2FyHn8wQx6Vt1Ls0Ma9Bc3%3D",
            "verified": True,
        },
        "published": "2024-03-01T08:00:00Z",
        "published_raw": "1709280000",
        # TikTok videos have no title; og:title is the page's name and is not taken for one
        "title": None,
        "text": DESC,
        "links": [
            {"kind": "mention", "text": "@iss", "url": "https://www.tiktok.com/@iss"},
            {"kind": "hashtag", "text": "#earth", "url": "https://www.tiktok.com/tag/earth"},
            {"kind": "hashtag", "text": "#fromspace", "url": "https://www.tiktok.com/tag/fromspace"},
            {"kind": "hashtag", "text": "#nasa", "url": "https://www.tiktok.com/tag/nasa"},
        ],
        "language": "en",
        "counts": [
            {"name": "likes", "displayed": "1.2M", "value": 1_200_000},
            {"name": "comments", "displayed": "4812", "value": 4812},
            {"name": "shares", "displayed": "15.3K", "value": 15_300},
            {"name": "bookmarks", "displayed": "98.7K", "value": 98_700},
            {"name": "views", "displayed": "18700000", "value": 18_700_000},
        ],
        "relations": {"reply_to": None, "quote_of": None, "repost_of": None, "thread_root": None},
        "extraction": {"extractor": "tiktok", "version": 1, "fallback_used": []},
    }
    assert [(s["kind"], s["locator"], s["fields"]) for s in sources[:6]] == [
        ("embedded-json", STATE, ["id", "url", "author", "published", "text", "links", "media", "language"]),
        ("dom", '[data-e2e="like-count"]', ["counts.likes"]),
        ("dom", '[data-e2e="comment-count"]', ["counts.comments"]),
        ("dom", '[data-e2e="share-count"]', ["counts.shares"]),
        ("dom", '[data-e2e="undefined-count"]', ["counts.bookmarks"]),
        ("embedded-json", STATE + ".stats", ["counts.views"]),
    ]
    assert sources[6:] == []  # nothing was taken from the generic reading

    # the video itself: the full play address (not the watermarked download), archived whole
    assert len(media) == 1
    m = media[0]
    assert {k: m[k] for k in ("type", "url", "alt", "width", "height", "poster_url")} == {
        "type": "video",
        "url": play_url(port),
        "alt": None,
        "width": 576,
        "height": 1024,
        "poster_url": f"{cdn}/obj/tos-maliva-p-0068/oMAhzDeIgQfRBAEpAnIAZQC4AfIJyDRgAkEzsQ"
        "?lk3s=81f88b70&x-expires=1709452800&x-signature=Zx9bW2cHq0X5mLkP1rN7sT4vY6u%3D",
    }
    assert m["path"] and m["sha256"], f"video not archived: {m['note']}"
    archived = (captured.path / m["path"]).read_bytes()
    clip = (FIXTURES.parent / "_media" / "clip.mp4").read_bytes()
    assert hashlib.sha256(archived).hexdigest() == m["sha256"] == hashlib.sha256(clip).hexdigest()
    assert m["size"] == len(clip) and m["media_type"] == "video/mp4"

    assert_post_shot(captured.path)
    outcome = provenance(captured)["post"]
    assert outcome["found"] and outcome["extractor"] == "tiktok" and outcome["login_required"] is None


def test_behaviours_close_login_and_open_comments(video):
    captured, _post = video
    done = {b["name"]: b for b in provenance(captured)["behaviours"]}
    assert done["tiktok-login-modal"]["actions"] == [
        "closed the 'Log in to TikTok' modal ([data-e2e=\"modal-close-inner-button\"])"
    ]
    assert done["tiktok-comments"]["actions"] == [
        'opened the comments: 2 shown ([data-e2e="comment-icon"])',
        'opened 1 reply thread(s): 2 replies shown ([data-e2e^="view-more"])',
    ]
    dom = (captured.path / "dom.html").read_text()
    assert 'data-e2e="login-title"' not in dom  # the modal is gone from the snapshot
    assert dom.count('data-e2e="comment-level-1"') == 2 and dom.count('data-e2e="comment-level-2"') == 2
    records = warc_records(captured.path / "archive.warc.gz")
    assert [r["status"] for r in responses(records, "/api/comment/list/?")] == [200]
    assert [r["status"] for r in responses(records, "/api/comment/list/reply/?")] == [200]


def test_behaviours_respect_settings(engine, platform_web):
    """comments off: the comment panel stays closed (the login modal is still closed)."""
    captured, post = capture_post(
        engine, platform_web.url("www.tiktok.com", VIDEO), platforms={"comments": False, "media": False}
    )
    done = {b["name"]: b for b in provenance(captured)["behaviours"]}
    assert done["tiktok-comments"]["actions"] == [] and done["tiktok-login-modal"]["actions"]
    assert not responses(warc_records(captured.path / "archive.warc.gz"), "/api/comment/list/")
    assert post is not None and post["id"] == "7341301699830336789"


def test_private_account_is_a_login_wall(engine, platform_web):
    captured, post = capture_post(engine, platform_web.url("www.tiktok.com", PRIVATE))
    outcome = provenance(captured)["post"]
    assert outcome["login_required"] == (
        "TikTok answered statusCode 10222 (private account): only a logged-in account with access sees it"
    )
    assert post is None or post["extraction"]["extractor"] != "tiktok"
    assert extract_capture(captured.path).login_required == outcome["login_required"]


# -- readers the fixture page does not exercise ---------------------------------------------


def _state(port: int = 8000) -> dict:
    html = re.sub(r"\{\{host:([^}]+)\}\}", rf"\1:{port}", (FIXTURES / "video.html").read_text())
    return json.loads(re.search(r'REHYDRATION__" type="application/json">(.*?)</script>', html).group(1))


def test_item_detail_api_response_is_read():
    """A client-side navigation: no state blob, the item comes from /api/item/detail/."""
    item = _state()["__DEFAULT_SCOPE__"]["webapp.video-detail"]["itemInfo"]
    store = ResponseStore()
    api = "https://www.tiktok.com/api/item/detail/?WebIdLastTime=1709280010&aid=1988&itemId=7341301699830336789"
    store.add(api, 200, "application/json", json.dumps({"itemInfo": item, "statusCode": 0}).encode())
    url = "https://www.tiktok.com" + VIDEO
    post = PLATFORM.extract(PageEvidence(url, url, "<html><body><div id=app></div></body></html>", store))
    assert post is not None
    assert (post.id, post.author.handle, post.text, post.published_raw) == ("7341301699830336789", "@nasa.earth", DESC, "1709280000")
    assert [(c.name, c.displayed) for c in post.counts] == [
        ("likes", "1200345"), ("comments", "4812"), ("shares", "15321"), ("bookmarks", "98712"), ("views", "18700000")
    ]
    assert post.sources[0].kind.value == "api-json" and post.sources[0].locator == api
    assert post.media[0].url.startswith("http://v16-webapp-prime.tiktok.com:8000/video/tos/")


def test_dom_alone_is_read(video):
    """Without the state blob (markup only): desc, links, author and counts from data-e2e."""
    captured, _post = video
    dom = (captured.path / "dom.html").read_text()
    dom = re.sub(r'<script id="__UNIVERSAL_DATA_FOR_REHYDRATION__".*?</script>', "", dom, flags=re.S)
    url = "https://www.tiktok.com" + VIDEO
    post = PLATFORM.extract(PageEvidence(url, url, dom))
    assert post is not None
    assert post.text == DESC
    assert [(link.kind.value, link.text) for link in post.links] == [
        ("mention", "@iss"), ("hashtag", "#earth"), ("hashtag", "#fromspace"), ("hashtag", "#nasa")
    ]
    assert post.links[1].url == "https://www.tiktok.com/tag/earth"
    assert (post.author.handle, post.author.display_name) == ("@nasa.earth", "NASA Earth")
    assert [(c.name, c.displayed) for c in post.counts] == [
        ("likes", "1.2M"), ("comments", "4812"), ("shares", "15.3K"), ("bookmarks", "98.7K")
    ]
    assert post.media and post.media[0].type.value == "video" and "/video/tos/" in post.media[0].url
