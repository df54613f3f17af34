"""Facebook: a page's multi-photo post captured with the real browser (fixture:
tests/fixtures/platforms/facebook/), its post.json field by field and archived photos, the
behaviours (login dialog, "See more"), the "You must log in to continue" wall, and the DOM
reading used when the Relay data is missing."""

from __future__ import annotations

import hashlib
import re

import pytest
from helpers import capture_post, provenance, assert_post_shot

from archiver.platforms.evidence import PageEvidence
from archiver.platforms.extract import extract_capture
from archiver.platforms.facebook import PLATFORM, post_ref

PFBID = "pfbid02Fq8k3vX1y9Rz7JbZtG6P8fKpLmN4sQwE2aYxT5hUcV9dBnR3oWj1iK7lHgFfS6l"
POST = f"/NASA/posts/{PFBID}"
GROUP = "/groups/998877665544/posts/1234567890123/"
TEXT = (
    "Splashdown practice: the Artemis II crew rehearsed getting out of the Orion capsule in the Pacific this week "
    "\U0001F680 Working alongside U.S. Navy divers, they practised the recovery steps they will follow after their "
    "flight around the Moon.\n\nPhotos: NASA/Kenny Allen. More about the mission: nasa.gov/artemis-ii #Artemis #NASA"
)
LINKS = [
    {"kind": "mention", "text": "U.S. Navy", "url": "https://www.facebook.com/USNavy"},
    {"kind": "link", "text": "nasa.gov/artemis-ii", "url": "https://nasa.gov/artemis-ii"},
    {"kind": "hashtag", "text": "#Artemis", "url": "https://www.facebook.com/hashtag/artemis"},
    {"kind": "hashtag", "text": "#NASA", "url": "https://www.facebook.com/hashtag/nasa"},
]
Q = "_nc_cat=1&ccb=1-7&_nc_sid=5f2048&_nc_ohc=Xq4lHfJ8nUAX9bKz1&_nc_ht=scontent.fcgk4-1.fna&oh=00_AfDk3x9&oe=65E8C2A0"
SJS = 'script[type="application/json"][data-sjs] (#2 on the page) Story'


@pytest.fixture(scope="module")
def page_post(engine, platform_web):
    return capture_post(engine, platform_web.url("www.facebook.com", POST))


def test_post_every_field(page_post, platform_web):
    captured, post = page_post
    port = platform_web.port
    cdn = f"http://scontent.fcgk4-1.fna.fbcdn.net:{port}"
    assert post is not None, "no post.json"
    media = post.pop("media")
    sources = post.pop("sources")
    assert post.pop("counts_read_at")
    assert post == {
        "format": "archiver.post/1",
        "platform": "facebook",
        "id": "937465601762843",
        "url": f"https://www.facebook.com{POST}",
        "author": {
            "display_name": "NASA - National Aeronautics and Space Administration",
            "handle": "NASA",
            "url": "https://www.facebook.com/NASA",
            "id": "100044561550831",
            "avatar_url": f"{cdn}/v/t39.30808-1/305374235_475478347954012_1234567890123456789_n.jpg?stp=cp0_dst-jpg_p40x40"
            "&_nc_cat=1&ccb=1-7&_nc_sid=5f2048&_nc_ht=scontent.fcgk4-1.fna&oh=00_AfAvatar&oe=65E8C2A1",
            "verified": True,
        },
        "published": "2024-03-01T17:00:00Z",
        "published_raw": "1709312400",
        # posts have no title and state no language: the generic reading fills both from
        # og:title (the page's name) and <html lang> (the UI language) -- see the report
        "title": None,
        "text": TEXT,
        "links": LINKS,
        "language": None,
        "counts": [
            {"name": "reactions", "displayed": "12K", "value": 12000},
            {"name": "comments", "displayed": "1.2K", "value": 1200},
            {"name": "shares", "displayed": "894", "value": 894},
        ],
        "relations": {"reply_to": None, "quote_of": None, "repost_of": None, "thread_root": None},
        "extraction": {"extractor": "facebook", "version": 1, "fallback_used": []},
    }
    assert [(s["kind"], s["locator"], s["fields"]) for s in sources[:2]] == [
        ("embedded-json", SJS, ["id", "url", "author", "published", "text", "links", "media", "counts.reactions"]),
        ("dom", 'div[role="article"] (counts bar)', ["counts.comments", "counts.shares"]),
    ]
    assert sources[2:] == []  # nothing taken from the generic reading

    assets = ("431561234_937465545096182_1234567890123456789", "431561235_937465551762848_2234567890123456789",
              "431561236_937465558429514_3234567890123456789")
    alts = ("May be an image of 4 people, ocean and text that says 'NASA'", "May be an image of boat and ocean",
            "May be an image of helicopter")
    assert [{k: m[k] for k in ("type", "url", "alt", "width", "height", "poster_url")} for m in media] == [
        {"type": "image", "url": f"{cdn}/v/t39.30808-6/{a}_n.jpg?{Q}", "alt": alt, "width": 2048, "height": 1365, "poster_url": None}
        for a, alt in zip(assets, alts)
    ]
    for m in media:  # full size: fetched by the page (it showed the s600x600 variants)
        assert m["path"] and m["sha256"], m["note"]
        assert hashlib.sha256((captured.path / m["path"]).read_bytes()).hexdigest() == m["sha256"]
        assert m["media_type"] == "image/jpeg" and m["origin"] == "fetched"

    assert_post_shot(captured.path)
    outcome = provenance(captured)["post"]
    assert (outcome["found"], outcome["extractor"], outcome["login_required"]) == (True, "facebook", None)
    assert outcome["element_screenshot"] == "post.png" and outcome["media_archived"] == 3


def test_behaviours_close_dialog_and_expand_text(page_post):
    captured, _post = page_post
    done = {b["name"]: b for b in provenance(captured)["behaviours"]}
    assert done["facebook-login-dialog"]["actions"] == ['closed the login dialog (div[role=dialog] [aria-label="Close"])']
    assert done["facebook-see-more"]["actions"] == ["expanded 1 truncated text(s) ('See more' div[role=button])"]
    dom = (captured.path / "dom.html").read_text()
    assert 'role="dialog"' not in dom
    message = re.search(r'data-ad-preview="message".*?</span></div></div>', dom, re.S).group(0)
    assert "See more" not in message and "Photos: NASA/Kenny Allen" in message  # the whole text, shown


def test_login_form_page_is_a_login_wall(engine, platform_web):
    captured, post = capture_post(engine, platform_web.url("www.facebook.com", GROUP))
    outcome = provenance(captured)["post"]
    assert outcome["login_required"] == "Facebook shows its login form ('You must log in to continue.') and no post"
    assert post is None or post["extraction"]["extractor"] != "facebook"
    assert extract_capture(captured.path).login_required == outcome["login_required"]


def test_dom_alone_is_read(page_post):
    """Without the Relay blobs: the expanded message, its links, author and the counts bar."""
    captured, _post = page_post
    dom = (captured.path / "dom.html").read_text()
    dom = re.sub(r'<script type="application/json"[^>]*data-sjs[^>]*>.*?</script>', "", dom, flags=re.S)
    url = f"https://www.facebook.com{POST}"
    post = PLATFORM.extract(PageEvidence(url, url, dom))
    assert post is not None
    assert post.text == TEXT.replace("\n\n", "\n")  # paragraphs are <div>s: one line break in the DOM
    # l.php unwrapped, the per-viewer __cft__/__tn__ parameters dropped
    assert [link.model_dump(mode="json") for link in post.links] == LINKS
    assert (post.author.display_name, post.author.handle, post.author.url) == (
        "NASA - National Aeronautics and Space Administration", "NASA", "https://www.facebook.com/NASA")
    assert [(c.name, c.displayed, c.value) for c in post.counts] == [
        ("reactions", "12K", 12000), ("comments", "1.2K", 1200), ("shares", "894", 894)]
    assert post.id == PFBID and post.url == url


@pytest.mark.parametrize(
    ("url", "ref"),
    [
        (f"https://www.facebook.com{POST}", PFBID),
        ("https://www.facebook.com/permalink.php?story_fbid=937465601762843&id=100044561550831", "937465601762843"),
        ("https://www.facebook.com/photo/?fbid=937465541762849&set=pcb.937465601762843", "937465541762849"),
        ("https://www.facebook.com/watch/?v=1234567890", "1234567890"),
        ("https://www.facebook.com/reel/998877", "998877"),
        ("https://www.facebook.com/NASA/videos/artemis-ii-splashdown/445566778899/", "445566778899"),
        ("http://www.facebook.com:8123/groups/998877665544/posts/1234567890123/", "1234567890123"),
    ],
)
def test_post_ids_in_urls(url, ref):
    assert post_ref(url) == ref
