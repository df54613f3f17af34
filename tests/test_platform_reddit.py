"""Reddit: a new-Reddit (shreddit) video post with a long text and more comments to load,
the same post on old.reddit.com, and a mature post behind a 'Log in to continue' modal."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from helpers import capture_post, assert_post_shot

from archiver.platforms.evidence import PageEvidence, ResponseStore
from archiver.platforms.reddit import PLATFORM, post_id
from archiver.platforms.registry import platform_for_url

PERMA = "/r/FloodWatch/comments/1gvx3k9/riverside_gauge_hits_42_m_footbridge_under_water/"
URL = "https://www.reddit.com" + PERMA
NSFW = "/r/FloodWatch/comments/1gw0nsf/graphic_photos_from_the_underpass/"
FIXTURES = Path(__file__).parent / "fixtures" / "platforms"
TITLE = "Riverside gauge hits 4.2 m, footbridge under water"
TEXT = (
    "Taken from the east bank at 14:00. The gauge board reads 4.2 m and the footbridge deck is under water.\n\n"
    "Official bulletin: Water agency update\n\n"
    "Upstream at Millbrook the level was still rising an hour ago, so this is probably not the peak. The council "
    "has put tape across both ends of the bridge but people were still walking up to the edge to film.\n\n"
    "Edit: the underpass on Station Road is closed too. Stay safe, u/cityalerts_bot is posting road closures."
)
BULLETIN = "https://www.example-water-agency.gov/bulletins/2024/11/20/riverside-gauge-level-update"
AUTHOR = {
    "display_name": "flood_watcher_rv",
    "handle": "u/flood_watcher_rv",
    "url": "https://www.reddit.com/user/flood_watcher_rv/",
    "id": "t2_8k2m4x1q",
    "avatar_url": None,
    "verified": None,
}
JSON_PATH = "/r/FloodWatch/comments/1gvx3k9/riverside_gauge_hits_42_m_footbridge_under_water.json?raw_json=1"


@pytest.fixture(scope="module")
def new_reddit(engine, platform_web):
    return capture_post(engine, platform_web.url("www.reddit.com", PERMA))


@pytest.fixture(scope="module")
def old_reddit(engine, platform_web):
    return capture_post(engine, platform_web.url("old.reddit.com", PERMA))


def provenance(path: Path) -> dict[str, Any]:
    return json.loads((path / "provenance.json").read_text())


def video(port: int) -> dict[str, Any]:
    return {
        "type": "video",
        "url": f"http://v.redd.it:{port}/k3x9m2p7q1wd1/DASH_270.mp4?source=fallback",
        "alt": None,
        "width": 480,
        "height": 270,
        "poster_url": (
            f"http://external-preview.redd.it:{port}/Zk3x9m2p7q1wd1Yq8rT0bWl4cFNhV2VPdHc.png"
            "?format=pjpg&auto=webp&s=4be1c0f1e0a5b7e1d2c3a4f5e6d7c8b9a0f1e2d3"
        ),
    }


def assert_video_archived(path: Path, item: dict[str, Any]) -> None:
    data = (path / item["path"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == item["sha256"] and item["size"] == len(data)
    assert data == (FIXTURES / "_media" / "clip.mp4").read_bytes()
    assert item["media_type"] == "video/mp4" and item["note"] is None


def test_new_reddit_video_post(new_reddit, platform_web):
    captured, post = new_reddit
    port = platform_web.port
    assert post is not None
    media = post.pop("media")
    assert post.pop("counts_read_at")
    assert post == {
        "format": "archiver.post/1",
        "platform": "reddit",
        "id": "1gvx3k9",
        "url": URL,
        "author": AUTHOR,
        "published": "2024-11-20T14:05:33.412000Z",
        "published_raw": "2024-11-20T14:05:33.412000+0000",
        "title": TITLE,
        "text": TEXT,
        "links": [
            {"kind": "link", "text": "Water agency update", "url": BULLETIN},
            {"kind": "mention", "text": "u/cityalerts_bot", "url": "https://www.reddit.com/user/cityalerts_bot/"},
        ],
        "language": "en",
        "counts": [
            {"name": "score", "displayed": "1234", "value": 1234},
            {"name": "comments", "displayed": "56", "value": 56},
        ],
        "relations": {"reply_to": None, "quote_of": None, "repost_of": None, "thread_root": None},
        "sources": [
            {"kind": "api-json", "locator": f"http://www.reddit.com:{port}{JSON_PATH}", "fields": ["media"]},
            {
                "kind": "dom",
                "locator": "shreddit-post",
                "fields": ["id", "url", "title", "author", "published", "published_raw", "language", "counts"],
            },
            {"kind": "dom", "locator": 'shreddit-post [slot="text-body"]', "fields": ["text", "links"]},
        ],
        "extraction": {"extractor": "reddit", "version": 1, "fallback_used": []},
    }
    assert [{k: m[k] for k in ("type", "url", "alt", "width", "height", "poster_url")} for m in media] == [video(port)]
    assert_video_archived(captured.path, media[0])
    assert_post_shot(captured.path)
    outcome = provenance(captured.path)["post"]
    assert (outcome["element_screenshot"], outcome["media_archived"], outcome["login_required"]) == ("post.png", 1, None)


def test_behaviours_record_the_json_expand_the_text_and_load_comments(new_reddit):
    captured, _ = new_reddit
    records = {b["name"]: b for b in provenance(captured.path)["behaviours"]}
    assert records["reddit-post-json"]["actions"] == [
        f"fetched the post's listing JSON ({JSON_PATH}, HTTP 200) so its data and video fallback URL are recorded"
    ]
    assert records["reddit-expand"]["actions"] == [
        "expanded the post text ('Read more', #t3_1gvx3k9-read-more-button)",
        "loaded more comments ('View more comments', faceplate-partial)",
    ]
    ev = PageEvidence.from_capture(captured.path)
    assert ev.first("#t3_1gvx3k9-read-more-button") is None
    assert "max-h-[337px]" not in ev.first("#t3_1gvx3k9-post-rtjson-content").get("class")
    authors = [c.get("author") for c in ev.select("shreddit-comment-tree shreddit-comment")]
    assert authors == ["eastbank_resident", "millbrook_mike", "station_rd_dan", "riverside_rita"]
    assert ev.first("faceplate-partial") is None
    assert any("/comments/1gvx3k9/" in r.url and ".json" in r.url for r in ev.store.responses)


def test_old_reddit_post(old_reddit, platform_web):
    captured, post = old_reddit
    port = platform_web.port
    assert post is not None
    media = post.pop("media")
    assert post.pop("counts_read_at")
    # old Reddit states no language of the post: extract.merge takes <html lang>, the UI's language
    language, extraction = post.pop("language"), post.pop("extraction")
    post["sources"] = [s for s in post["sources"] if s["locator"] != "html[lang]"]
    assert (language, extraction["fallback_used"]) in (("en", ["language"]), (None, []))
    assert post == {
        "format": "archiver.post/1",
        "platform": "reddit",
        "id": "1gvx3k9",
        "url": URL,
        "author": AUTHOR,
        "published": "2024-11-20T14:05:33Z",
        "published_raw": "2024-11-20T14:05:33+00:00",
        "title": TITLE,
        "text": TEXT,
        "links": [
            {"kind": "link", "text": "Water agency update", "url": BULLETIN},
            {"kind": "mention", "text": "u/cityalerts_bot", "url": "https://www.reddit.com/u/cityalerts_bot"},
        ],
        "counts": [
            {"name": "score", "displayed": "1.2k", "value": 1200},
            {"name": "comments", "displayed": "56", "value": 56},
        ],
        "relations": {"reply_to": None, "quote_of": None, "repost_of": None, "thread_root": None},
        "sources": [
            {"kind": "api-json", "locator": f"http://old.reddit.com:{port}{JSON_PATH}", "fields": ["media"]},
            {"kind": "dom", "locator": "div.thing[data-fullname^=t3_]", "fields": ["id", "url", "author"]},
            {"kind": "dom", "locator": "div.thing a.title", "fields": ["title"]},
            {"kind": "dom", "locator": "div.thing .tagline time.live-timestamp", "fields": ["published", "published_raw"]},
            {"kind": "dom", "locator": "div.thing .midcol .score.unvoted, div.thing a.comments", "fields": ["counts"]},
            {"kind": "dom", "locator": "div.thing .expando .usertext-body .md", "fields": ["text", "links"]},
        ],
    }
    assert [{k: m[k] for k in ("type", "url", "alt", "width", "height", "poster_url")} for m in media] == [video(port)]
    assert_video_archived(captured.path, media[0])
    assert provenance(captured.path)["post"]["element_screenshot"] == "post.png"


@pytest.fixture(scope="module")
def nsfw(engine, platform_web):
    return capture_post(engine, platform_web.url("www.reddit.com", NSFW))


def test_mature_post_behind_login_modal(nsfw):
    captured, post = nsfw
    ev = PageEvidence.from_capture(captured.path)
    reason = "mature (18+) content behind a login modal (shreddit-async-loader: 'Log in to continue')"
    assert PLATFORM.login_wall(ev) == reason
    own = PLATFORM.extract(ev)  # what the gate still shows: title, author, time, counts; no text, no media
    assert own is not None and (own.id, own.title, own.author.handle) == ("1gw0nsf", "Graphic photos from the underpass", "u/eastbank_resident")
    assert (own.text, own.media) == (None, [])
    records = {b["name"]: b for b in provenance(captured.path)["behaviours"]}
    assert records["reddit-post-json"]["actions"] == [
        "asked for the post's listing JSON (/r/FloodWatch/comments/1gw0nsf/graphic_photos_from_the_underpass.json?raw_json=1): "
        "HTTP 403, nothing to read from it"
    ]
    assert post is not None and post["title"] == "Graphic photos from the underpass"


def test_mature_post_login_wall_reaches_provenance(nsfw):
    captured, post = nsfw
    outcome = provenance(captured.path)["post"]
    assert outcome["login_required"] == "mature (18+) content behind a login modal (shreddit-async-loader: 'Log in to continue')"
    assert post["text"] is None


# -- without a browser ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (URL, "1gvx3k9"),
        ("http://www.reddit.com:8080" + PERMA, "1gvx3k9"),
        ("https://old.reddit.com" + PERMA + "lxy1a2b/", "1gvx3k9"),
        ("https://www.reddit.com/comments/1gvx3k9/", "1gvx3k9"),
        ("https://www.reddit.com/r/FloodWatch/comments/1gvx3k9.json", "1gvx3k9"),
        ("https://redd.it/1gvx3k9", "1gvx3k9"),
        ("https://www.reddit.com/r/FloodWatch/", None),
    ],
)
def test_post_ids(url, expected):
    assert post_id(url) == expected
    assert platform_for_url(url) is PLATFORM


def test_listing_json_alone():
    """A capture of the .json URL itself: everything from the listing (raw_json=1 shape)."""
    body = (FIXTURES / "reddit" / "post.json").read_text().replace("{{host:", "").replace("}}", "")
    store = ResponseStore()
    api = "https://www.reddit.com" + JSON_PATH
    store.add(api, 200, "application/json; charset=UTF-8", body.encode())
    post = PLATFORM.extract(PageEvidence(api, api, "<html><body><pre>[...]</pre></body></html>", store))
    assert post is not None
    assert (post.id, post.url, post.title, post.published_raw) == ("1gvx3k9", URL, TITLE, "1732111533.0")
    assert post.published.isoformat() == "2024-11-20T14:05:33+00:00"
    assert post.text == TEXT and post.author.id == "t2_8k2m4x1q"
    assert [(c.name, c.displayed) for c in post.counts] == [("score", "1234"), ("comments", "56")]
    assert post.media[0].url == "http://v.redd.it/k3x9m2p7q1wd1/DASH_270.mp4?source=fallback"  # fixture host
    assert {s.kind.value for s in post.sources} == {"api-json"}


def test_shreddit_dom_alone(new_reddit):
    """Without the listing JSON the video is the player's HLS stream, with its poster."""
    captured, _ = new_reddit
    html = (captured.path / "dom.html").read_text()
    post = PLATFORM.extract(PageEvidence(URL, URL, html, ResponseStore()))
    assert post is not None and post.text == TEXT and post.title == TITLE
    assert [(m.type.value, m.url.split("/", 3)[3], bool(m.poster_url)) for m in post.media] == [
        ("video", "k3x9m2p7q1wd1/HLSPlaylist.m3u8?a=1734703533%2CYTQ2Yjcx&v=1&f=sd", True)
    ]
