"""Bluesky: a reply with two photos and a quote (recordWithMedia), its thread with a reply
hidden behind a 'Graphic Media' label, and an author who limits posts to signed-in users."""

from __future__ import annotations

import copy

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from helpers import capture_post, assert_post_shot

from archiver.platforms.bluesky import PLATFORM, facet_links, from_meta, media_of, post_ref, web_url
from archiver.platforms.evidence import PageEvidence, ResponseStore
from archiver.platforms.registry import platform_for_url

RIVER = "did:plc:4q7n2x6kvbrm3ahf5tjyw2ce"
POST = "/profile/rivermonitor.bsky.social/post/3lbq7xkvu2c2a"
FIXTURES = Path(__file__).parent / "fixtures" / "platforms" / "bluesky"
TEXT = (
    "\U0001F30A Riverside gauge hit 4.2 m at 14:00. Footage from @alice.example.com: the footbridge is under water.\n\n"
    "Bulletin: example-water-agency.gov/bulletins/2... #Riverside #flood"
)


@pytest.fixture(scope="module")
def thread(engine, platform_web):
    return capture_post(engine, platform_web.url("bsky.app", POST))


def provenance(path: Path) -> dict[str, Any]:
    return json.loads((path / "provenance.json").read_text())


def test_post_with_photos_quote_and_reply_context(thread, platform_web):
    captured, post = thread
    port = platform_web.port
    cdn = f"http://cdn.bsky.app:{port}/img"
    assert post is not None
    post = copy.deepcopy(post)  # the capture fixture is shared with other tests
    media = post.pop("media")
    assert post.pop("counts_read_at")
    title, extraction = post.pop("title"), post.pop("extraction")
    assert title is None  # og:title names the author here: never taken for the post's title
    assert extraction["extractor"] == "bluesky" and extraction["fallback_used"] == []
    assert post == {
        "format": "archiver.post/1",
        "platform": "bluesky",
        "id": f"at://{RIVER}/app.bsky.feed.post/3lbq7xkvu2c2a",
        "url": "https://bsky.app/profile/rivermonitor.bsky.social/post/3lbq7xkvu2c2a",
        "author": {
            "display_name": "River Monitor \U0001F327",
            "handle": "@rivermonitor.bsky.social",
            "url": "https://bsky.app/profile/rivermonitor.bsky.social",
            "id": RIVER,
            "avatar_url": f"{cdn}/avatar/plain/{RIVER}/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy@jpeg",
            "verified": True,
        },
        "published": "2024-11-20T14:05:33.412000Z",
        "published_raw": "2024-11-20T14:05:33.412Z",
        "text": TEXT,
        "links": [
            {"kind": "mention", "text": "@alice.example.com", "url": "https://bsky.app/profile/did:plc:ewvi7nxzyoun6zhxrhs64oiz"},
            {
                "kind": "link",
                "text": "example-water-agency.gov/bulletins/2...",
                "url": "https://www.example-water-agency.gov/bulletins/2024/11/20/riverside-gauge-level-update",
            },
            {"kind": "hashtag", "text": "#Riverside", "url": "https://bsky.app/hashtag/Riverside"},
            {"kind": "hashtag", "text": "#flood", "url": "https://bsky.app/hashtag/flood"},
        ],
        "language": "en",
        "counts": [
            {"name": "replies", "displayed": "4", "value": 4},
            {"name": "reposts", "displayed": "37", "value": 37},
            {"name": "quotes", "displayed": "5", "value": 5},
            {"name": "likes", "displayed": "1.2K", "value": 1200},
        ],
        "relations": {
            "reply_to": "https://bsky.app/profile/cityalerts.bsky.social/post/3lbq6zq2kfk2x",
            "quote_of": "https://bsky.app/profile/alice.example.com/post/3lbq5nmtzyc2p",
            "repost_of": None,
            "thread_root": "https://bsky.app/profile/cityalerts.bsky.social/post/3lbq6zq2kfk2x",
        },
        "sources": [
            {
                "kind": "api-json",
                "locator": (
                    f"http://public.api.bsky.app:{port}/xrpc/app.bsky.feed.getPostThread"
                    "?uri=at%3A%2F%2Fdid%3Aplc%3A4q7n2x6kvbrm3ahf5tjyw2ce%2Fapp.bsky.feed.post%2F3lbq7xkvu2c2a&depth=6"
                ),
                "fields": ["id", "url", "author", "published", "text", "language", "media", "relations", "links", "counts"],
            },
            {
                "kind": "dom",
                "locator": '[data-testid^="postThreadItem-by-"] [data-testid$="Count-expanded"]',
                "fields": ["counts"],
            },
        ],
    }
    assert [{k: m[k] for k in ("type", "url", "alt", "width", "height", "poster_url")} for m in media] == [
        {
            "type": "image",
            "url": f"{cdn}/feed_fullsize/plain/{RIVER}/bafkreif5hcqwmc4bqjdrj2cxlxzqvlrtjqy5f2nk3r7ajj4ng7rlbhn6xe@jpeg",
            "alt": "Gauge post with the water line at 4.2 metres",
            "width": 2000,
            "height": 1500,
            "poster_url": None,
        },
        {
            "type": "image",
            "url": f"{cdn}/feed_fullsize/plain/{RIVER}/bafkreidq4lcmnq7vofxgy3qynfmalwzfirnmtjckhdeulnbsefscwr6ica@jpeg",
            "alt": "Footbridge rails just above the water",
            "width": 1500,
            "height": 2000,
            "poster_url": None,
        },
    ]
    from PIL import Image

    for item, size in zip(media, [(2000, 1500), (1500, 2000)]):
        data = (captured.path / item["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == item["sha256"] and item["size"] == len(data)
        assert item["media_type"] == "image/jpeg"
        with Image.open(captured.path / item["path"]) as img:  # the full size, not the thumbnail
            assert img.size == size
    assert_post_shot(captured.path)
    outcome = provenance(captured.path)["post"]
    assert (outcome["element_screenshot"], outcome["media_archived"], outcome["media_missing"]) == ("post.png", 2, 0)
    assert outcome["login_required"] is None


def test_no_title_from_og_title(thread):
    _, post = thread
    assert post["title"] is None
    assert post["extraction"]["fallback_used"] == []


def test_reveal_behaviour_shows_label_hidden_reply_media(thread):
    captured, _ = thread
    records = {b["name"]: b for b in provenance(captured.path)["behaviours"]}
    assert records["bluesky-reveal"]["outcome"] == "ok"
    assert records["bluesky-reveal"]["actions"] == [
        "showed content hidden by a label warning ('Graphic Media', [data-testid=contentHider-embed])"
    ]
    ev = PageEvidence.from_capture(captured.path)
    reply = ev.first('[data-testid="postThreadItem-by-eastbank.bsky.social"]')
    assert ev.first('[data-testid^="contentHider"]', reply) is None
    img = ev.first('[data-testid="imagesEmbed"] img', reply)
    assert img is not None and img.get("alt") == "Car half under water in the underpass"


def test_signed_in_only_author_is_a_login_wall(engine, platform_web):
    captured, post = capture_post(engine, platform_web.url("bsky.app", "/profile/quietposter.bsky.social/post/3lbqa4mhdjk2z"))
    outcome = provenance(captured.path)["post"]
    assert outcome["login_required"] == "the author asks that their posts be shown to signed-in users only (!no-unauthenticated)"
    assert outcome["element_screenshot"] is None and not (captured.path / "post.png").exists()
    if post is not None:  # only bsky.app's generic og: meta was there to read, and it says so
        assert post["extraction"]["extractor"] == "generic" and post["author"]["handle"] is None
        assert "Only for people who are signed in." not in (post["text"] or "")
        assert "what was read comes from the login page's metadata, not from the post" in outcome["notes"]


# -- without a browser ---------------------------------------------------------------------


def test_urls_and_at_uris():
    assert platform_for_url("http://bsky.app:8080" + POST) is PLATFORM
    assert post_ref(f"https://bsky.app/profile/{RIVER}/post/3lbq7xkvu2c2a") == (RIVER, "3lbq7xkvu2c2a")
    assert post_ref("https://bsky.app/profile/RiverMonitor.bsky.social/post/3lbq7xkvu2c2a/") == ("rivermonitor.bsky.social", "3lbq7xkvu2c2a")
    assert post_ref("https://bsky.app/profile/rivermonitor.bsky.social") is None
    assert web_url(f"at://{RIVER}/app.bsky.feed.post/3lbq7xkvu2c2a") == f"https://bsky.app/profile/{RIVER}/post/3lbq7xkvu2c2a"
    assert web_url(f"at://{RIVER}/app.bsky.feed.like/3lbq7xkvu2c2a") is None


def test_facets_are_utf8_byte_ranges():
    text = "\u00e9t\u00e9 \U0001F30A #crue @b.example.com"
    raw = text.encode()
    tag, mention = raw.index(b"#crue"), raw.index(b"@b.example.com")
    links = facet_links(text, [
        {"index": {"byteStart": mention, "byteEnd": mention + 14}, "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:b"}]},
        {"index": {"byteStart": tag, "byteEnd": tag + 5}, "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "crue"}]},
    ])
    assert [(link.kind.value, link.text, link.url) for link in links] == [
        ("hashtag", "#crue", "https://bsky.app/hashtag/crue"),
        ("mention", "@b.example.com", "https://bsky.app/profile/did:plc:b"),
    ]


def test_video_embed_and_thread_v2_shape():
    thread = json.loads((FIXTURES / "thread.json").read_text())
    anchor = thread["thread"]["post"]
    anchor["embed"] = {
        "$type": "app.bsky.embed.video#view", "cid": "bafkreivideo",
        "playlist": f"https://video.bsky.app/watch/{RIVER}/bafkreivideo/playlist.m3u8",
        "thumbnail": f"https://video.bsky.app/watch/{RIVER}/bafkreivideo/thumbnail.jpg",
        "alt": "Water over the deck", "aspectRatio": {"width": 1080, "height": 1920},
    }
    v2 = {"thread": [{"uri": anchor["uri"], "depth": 0, "value": {"$type": "app.bsky.unspecced.defs#threadItemPost", "post": anchor}}]}
    store = ResponseStore()
    api = "https://public.api.bsky.app/xrpc/app.bsky.unspecced.getPostThreadV2?anchor=at%3A%2F%2Fx&below=10"
    store.add(api, 200, "application/json", json.dumps(v2).encode())
    url = "https://bsky.app" + POST
    post = PLATFORM.extract(PageEvidence(url, url, "<html></html>", store))
    assert post is not None and post.sources[0].locator == api
    assert [(m.type.value, m.url, m.poster_url, m.width, m.height, m.alt) for m in post.media] == [
        ("video", anchor["embed"]["playlist"], anchor["embed"]["thumbnail"], 1080, 1920, "Water over the deck")
    ]
    assert post.relations.quote_of is None and post.text == TEXT
    assert media_of({"$type": "app.bsky.embed.external#view", "external": {"uri": "https://x.example"}}) == []


def test_meta_fallback_when_no_appview_answer_was_recorded(thread):
    captured, _ = thread
    html = (captured.path / "dom.html").read_text()
    url = "https://bsky.app" + POST
    post = PLATFORM.extract(PageEvidence(url, url, html, ResponseStore()))
    assert post is not None and post == from_meta(PageEvidence(url, url, html))
    assert (post.id, post.url) == (f"at://{RIVER}/app.bsky.feed.post/3lbq7xkvu2c2a", url)
    assert (post.author.display_name, post.author.handle, post.author.id) == ("River Monitor \U0001F327", "@rivermonitor.bsky.social", RIVER)
    assert post.published_raw == "2024-11-20T14:05:34.006Z"  # indexedAt, as bskyweb states it
    assert post.text == TEXT
    assert [link.text for link in post.links] == ["@alice.example.com", "example-water-agency.gov/bulletins/2...", "#Riverside", "#flood"]
    assert [m.url.split("/img/")[1][:13] for m in post.media] == ["feed_fullsize", "feed_fullsize"]
    assert [m.alt for m in post.media] == ["Gauge post with the water line at 4.2 metres", "Footbridge rails just above the water"]
    assert [(c.name, c.displayed) for c in post.counts] == [("reposts", "37"), ("quotes", "5"), ("likes", "1.2K")]
