"""Mastodon on any instance: a status with a content warning, sensitive photos, a quote and
a reply context on one instance host, a video status read through the /users/<u>/statuses/<id>
URL form on a second instance host, and an instance that hides statuses from visitors."""

from __future__ import annotations

import copy

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from helpers import capture_post, assert_post_shot

from archiver.platforms.evidence import PageEvidence, ResponseStore
from archiver.platforms.mastodon import PLATFORM, from_dom
from archiver.platforms.registry import platform_for_page, platform_for_url

A = "social.example-instance.org"
B = "toot.example-commons.net"
FILES = "files.example-instance.org"
FIXTURES = Path(__file__).parent / "fixtures" / "platforms" / "mastodon"


@pytest.fixture(scope="module")
def status_a(engine, platform_web):
    return capture_post(engine, platform_web.url(A, "/@alice/113512345678901234"))


@pytest.fixture(scope="module")
def status_b(engine, platform_web):
    return capture_post(engine, platform_web.url(B, "/users/dave/statuses/113600000000000777"))


def provenance(path: Path) -> dict[str, Any]:
    return json.loads((path / "provenance.json").read_text())


def assert_media_archived(path: Path, media: list[dict[str, Any]]) -> None:
    for item in media:
        assert item["path"] and item["sha256"], item
        data = (path / item["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == item["sha256"]
        assert item["size"] == len(data)


def test_status_with_cw_photos_quote_and_thread(status_a, platform_web):
    captured, post = status_a
    port = platform_web.port
    files = f"http://{FILES}:{port}"
    media_base = f"{files}/media_attachments/files/113/512/345/678/901"
    api = f"http://{A}:{port}/api/v1/statuses/113512345678901234"
    assert post is not None
    post = copy.deepcopy(post)  # the capture fixture is shared with other tests
    media = post.pop("media")
    read_at = post.pop("counts_read_at")
    assert read_at
    assert post == {
        "format": "archiver.post/1",
        "platform": "mastodon",
        "id": "113512345678901234",
        "url": f"https://{A}/@alice/113512345678901234",
        "author": {
            "display_name": "Alice Rivera \U0001F30A",
            "handle": f"@alice@{A}",
            "url": f"https://{A}/@alice",
            "id": "109311234567890123",
            "avatar_url": f"{files}/accounts/avatars/109/311/234/567/890/123/original/9a1b2c3d4e5f6071.png",
            "verified": None,
        },
        "published": "2024-11-20T14:05:33Z",
        "published_raw": "2024-11-20T14:05:33.000Z",
        "title": "Flooding, photos of damage",
        "text": (
            "Water levels at the #Riverside gauge passed 4.2 m this morning \U0001F30A \u2014 photos below, "
            "thanks @dave for the tip.\n\nOfficial bulletin: example-water-agency.gov/bullet\u2026"
        ),
        "links": [
            {"kind": "hashtag", "text": "#Riverside", "url": f"https://{A}/tags/Riverside"},
            {"kind": "mention", "text": "@dave", "url": f"https://{B}/@dave"},
            {
                "kind": "link",
                "text": "example-water-agency.gov/bullet\u2026",
                "url": "https://www.example-water-agency.gov/bulletins/2024/11/20/riverside-gauge-level-update",
            },
        ],
        "language": "en",
        "counts": [
            {"name": "replies", "displayed": "2", "value": 2},
            {"name": "reposts", "displayed": "12", "value": 12},
            {"name": "quotes", "displayed": "0", "value": 0},
            {"name": "likes", "displayed": "1.2K", "value": 1200},
        ],
        "relations": {
            "reply_to": f"https://{A}/@alice/113512200000000002",
            "quote_of": f"https://{B}/@dave/113600000000000777",
            "repost_of": None,
            "thread_root": f"https://{A}/@carol/113512100000000001",
        },
        "sources": [
            {
                "kind": "api-json",
                "locator": api,
                "fields": ["id", "url", "author", "published", "text", "language", "media", "relations", "title", "links", "counts"],
            },
            {"kind": "api-json", "locator": f"{api}/context", "fields": ["relations"]},
            {"kind": "embedded-json", "locator": "script#initial-state", "fields": ["author.handle"]},
            {"kind": "dom", "locator": ".detailed-status .detailed-status__meta", "fields": ["counts"]},
        ],
        "extraction": {"extractor": "mastodon", "version": 1, "fallback_used": []},
    }
    assert [{k: m[k] for k in ("type", "url", "alt", "width", "height", "poster_url")} for m in media] == [
        {
            "type": "image",
            "url": f"{media_base}/011/original/3f2a9c1d7e8b4a60.jpg",
            "alt": "Gauge post with the water line at 4.2 metres",
            "width": 1600,
            "height": 1200,
            "poster_url": None,
        },
        {
            "type": "image",
            "url": f"{media_base}/012/original/7b7c1e2f3a4d5e6f.jpg",
            "alt": "Flooded footbridge, closed with tape",
            "width": 1200,
            "height": 1600,
            "poster_url": None,
        },
    ]
    assert all(m["media_type"] == "image/jpeg" and m["note"] is None for m in media)
    assert_media_archived(captured.path, media)
    assert_post_shot(captured.path)
    outcome = provenance(captured.path)["post"]
    assert outcome["found"] and outcome["element_screenshot"] == "post.png"
    assert (outcome["media_archived"], outcome["media_missing"], outcome["login_required"]) == (2, 0, None)


def test_expand_behaviour_opens_content_warnings_and_sensitive_media(status_a):
    captured, _ = status_a
    records = {b["name"]: b for b in provenance(captured.path)["behaviours"]}
    assert records["mastodon-expand"]["outcome"] == "ok"
    assert records["mastodon-expand"]["actions"] == [
        "expanded 2 content warning(s) ('Show more', button.status__content__spoiler-link)",
        "revealed 1 sensitive media item(s) (button.spoiler-button__overlay)",
    ]
    ev = PageEvidence.from_capture(captured.path)
    detailed = ev.first(".detailed-status")
    assert ev.first("button.status__content__spoiler-link", detailed).get("aria-expanded") == "true"
    assert ev.first(".status__content__text--visible", detailed) is not None
    # the reply's content warning too (comments are on by default)
    reply = ev.first('.status[data-id="113512400000000101"]')
    assert ev.first(".status__content__text--visible", reply) is not None
    # the photos were hidden behind the overlay: their thumbnails exist only after the click
    assert len(ev.select("a.media-gallery__item-thumbnail img", detailed)) == 2
    assert ev.first("button.spoiler-button__overlay", detailed) is None


def test_second_instance_video_status_via_users_url(status_b, platform_web):
    captured, post = status_b
    port = platform_web.port
    base = f"http://{B}:{port}/system/media_attachments/files/113/600/000/000/000/777"
    api = f"http://{B}:{port}/api/v1/statuses/113600000000000777"
    assert post is not None
    post = copy.deepcopy(post)  # the capture fixture is shared with other tests
    media = post.pop("media")
    assert post.pop("counts_read_at")
    title, extraction = post.pop("title"), post.pop("extraction")
    assert title is None  # og:title names the author here: never taken for the post's title
    assert extraction["extractor"] == "mastodon" and extraction["fallback_used"] == []
    assert post == {
        "format": "archiver.post/1",
        "platform": "mastodon",
        "id": "113600000000000777",
        "url": f"https://{B}/@dave/113600000000000777",
        "author": {
            "display_name": "Dave Okafor",
            "handle": f"@dave@{B}",
            "url": f"https://{B}/@dave",
            "id": "109400000000000001",
            "avatar_url": f"http://{B}:{port}/system/accounts/avatars/109/400/000/000/000/001/original/da7eda7eda7eda7e.png",
            "verified": None,
        },
        "published": "2024-11-20T09:15:00Z",
        "published_raw": "2024-11-20T09:15:00.000Z",
        "text": "Pegel Millbrook steigt schnell. Flussabw\u00e4rts bis Mittag erwartet. #Riverside #Hochwasser\n\ncc @alice",
        "links": [
            {"kind": "hashtag", "text": "#Riverside", "url": f"https://{B}/tags/Riverside"},
            {"kind": "hashtag", "text": "#Hochwasser", "url": f"https://{B}/tags/Hochwasser"},
            {"kind": "mention", "text": "@alice", "url": f"https://{A}/@alice"},
        ],
        "language": "de",
        "counts": [
            {"name": "replies", "displayed": "3", "value": 3},
            {"name": "reposts", "displayed": "40", "value": 40},
            {"name": "likes", "displayed": "88", "value": 88},
        ],
        "relations": {"reply_to": None, "quote_of": None, "repost_of": None, "thread_root": None},
        "sources": [
            {
                "kind": "api-json",
                "locator": api,
                "fields": ["id", "url", "author", "published", "text", "language", "media", "relations", "links", "counts"],
            },
            {"kind": "embedded-json", "locator": "script#initial-state", "fields": ["author.handle"]},
            {"kind": "dom", "locator": ".detailed-status .detailed-status__meta", "fields": ["counts"]},
        ],
    }
    assert [{k: m[k] for k in ("type", "url", "alt", "width", "height", "poster_url")} for m in media] == [
        {
            "type": "video",
            "url": f"{base}/original/8d1e0c55aa2b3c4d.mp4",
            "alt": "Video: brown water rushing under the Millbrook bridge",
            "width": 480,
            "height": 270,
            "poster_url": f"{base}/small/8d1e0c55aa2b3c4d.png",
        }
    ]
    assert media[0]["media_type"] == "video/mp4"
    assert_media_archived(captured.path, media)
    assert (captured.path / "media" / Path(media[0]["path"]).name).read_bytes() == (
        FIXTURES.parent / "_media" / "clip.mp4"
    ).read_bytes()
    assert_post_shot(captured.path)
    # nothing to expand on this status: the behaviour ran and said nothing
    records = {b["name"]: b for b in provenance(captured.path)["behaviours"]}
    assert records["mastodon-expand"]["actions"] == []


def test_no_title_from_og_title(status_b):
    _, post = status_b
    assert post["title"] is None
    assert post["extraction"]["fallback_used"] == []


def test_instance_requiring_sign_in_is_a_login_wall(engine, platform_web):
    captured, post = capture_post(engine, platform_web.url(B, "/@erin/113600000000000999"))
    outcome = provenance(captured.path)["post"]
    assert outcome["element_screenshot"] is None and not (captured.path / "post.png").exists()
    if post is not None:  # the generic reading took the instance's own og: meta, and says so
        assert post["extraction"]["extractor"] == "generic" and post["author"]["handle"] is None
        assert "what was read comes from the login page's metadata, not from the post" in outcome["notes"]
    assert outcome["login_required"] == (
        "the instance answered 401 for the status (This API requires an authenticated user): sign-in required"
    )


# -- without a browser: URL patterns, detection, the DOM fallback, boosts ------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://mastodon.social/@Gargron/113512345678901234", True),
        ("http://social.example-instance.org:8080/@alice/113512345678901234/", True),
        ("https://social.example-instance.org/@bob@fedi.example-remote.net/113512400000000101", True),
        ("https://toot.example-commons.net/users/dave/statuses/113600000000000777", True),
        ("https://mastodon.social/@Gargron", False),
        ("https://mastodon.social/@Gargron/with_replies", False),
        ("https://mastodon.social/tags/riverside", False),
        ("https://www.tiktok.com/@user/video/7312345678901234567", False),
    ],
)
def test_matches_status_urls_on_any_host(url, expected):
    assert PLATFORM.matches(url) is expected
    if expected and "tiktok" not in url:
        assert platform_for_url(url) is PLATFORM


def test_detects_mastodon_markup_on_unknown_urls(status_a):
    captured, _ = status_a
    ev = PageEvidence.from_capture(captured.path)
    ev.url = ev.final_url = "https://social.example-instance.org/deck/whatever"
    assert platform_for_page(ev) is PLATFORM
    assert not PLATFORM.detect(PageEvidence("https://blog.example.com/", "https://blog.example.com/", "<html><body><p>hi</p></body></html>"))


def test_dom_fallback_when_no_api_answer_was_recorded(status_a):
    """The same capture's DOM snapshot alone: the rendered detailed status + og: meta."""
    captured, _ = status_a
    html = (captured.path / "dom.html").read_text()
    url = f"https://{A}/@alice/113512345678901234"
    post = PLATFORM.extract(PageEvidence(url, url, html, ResponseStore()))
    assert post is not None and post == from_dom(PageEvidence(url, url, html))
    assert (post.id, post.url, post.title, post.language) == ("113512345678901234", url, "Flooding, photos of damage", "en")
    assert (post.author.display_name, post.author.handle, post.author.url) == (
        "Alice Rivera \U0001F30A", f"@alice@{A}", f"https://{A}/@alice"
    )
    assert post.published_raw == "2024-11-20T14:05:33Z"
    assert post.text.startswith("Water levels at the #Riverside gauge passed 4.2 m this morning \U0001F30A")
    assert post.text.endswith("Official bulletin: example-water-agency.gov/bullet\u2026")
    assert [(link.kind.value, link.text) for link in post.links] == [
        ("hashtag", "#Riverside"), ("mention", "@dave"), ("link", "example-water-agency.gov/bullet\u2026")
    ]
    assert [m.alt for m in post.media] == ["Gauge post with the water line at 4.2 metres", "Flooded footbridge, closed with tape"]
    assert all("/original/" in m.url for m in post.media)
    assert [(c.name, c.displayed, c.value) for c in post.counts] == [("reposts", "12", 12), ("likes", "1.2K", 1200)]
    assert {s.kind.value for s in post.sources} == {"dom", "opengraph"}


def test_boost_reads_the_original_and_names_it():
    status = json.loads((FIXTURES / "b-status.json").read_text().replace("{{host:", "").replace("}}", ""))
    boost = {
        "id": "113600000000000888", "created_at": "2024-11-20T10:00:00.000Z", "in_reply_to_id": None,
        "spoiler_text": "", "language": None, "content": "", "url": None,
        "uri": f"https://{B}/users/erin/statuses/113600000000000888/activity", "media_attachments": [],
        "account": {"id": "109400000000000002", "username": "erin", "acct": "erin", "display_name": "Erin",
                    "url": f"https://{B}/@erin", "avatar": f"https://{B}/system/accounts/avatars/erin.png"},
        "reblog": status, "replies_count": 0, "reblogs_count": 0, "favourites_count": 0,
    }
    store = ResponseStore()
    store.add(f"https://{B}/api/v1/statuses/113600000000000888", 200, "application/json", json.dumps(boost).encode())
    url = f"https://{B}/@erin/113600000000000888"
    post = PLATFORM.extract(PageEvidence(url, url, "<html><body></body></html>", store))
    assert post is not None
    assert (post.id, post.author.handle, post.published_raw) == ("113600000000000888", f"@erin@{B}", "2024-11-20T10:00:00.000Z")
    assert post.relations.repost_of == f"https://{B}/@dave/113600000000000777"
    assert post.text.startswith("Pegel Millbrook") and post.language == "de" and post.media[0].type.value == "video"
