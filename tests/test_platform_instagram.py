"""Instagram: a carousel post (two photos and a video) captured with the real browser (fixture:
tests/fixtures/platforms/instagram/), its post.json field by field and archived media, the
behaviours (login dialog, carousel), the redirect to /accounts/login/ as a login wall, and the
other JSON shapes Instagram serves the same post in (/api/graphql xig_polaris_media,
/graphql/query xdt_shortcode_media)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from helpers import capture_post, provenance, responses, warc_records, assert_post_shot

from archiver.platforms.evidence import PageEvidence, ResponseStore
from archiver.platforms.extract import extract_capture
from archiver.platforms.instagram import PLATFORM

POST = "/p/C4FqZ2bL8xN/"
WALLED = "/p/C4WALLx9Qz1/"
FIXTURES = Path(__file__).parent / "fixtures" / "platforms" / "instagram"
CAPTION = (
    "Three views of the same storm over the Pacific \U0001F300 from @iss, @esa\u2019s Sentinel-3 and a time-lapse "
    "from the station.\n\nSwipe to see how it grew in six hours. #EarthFromSpace #typhoon #ISS"
)
SJS = 'script[type="application/json"][data-sjs] (#2 on the page)'
Q = "_nc_ht=scontent-sin6-2.cdninstagram.com&_nc_cat=1&_nc_ohc=Q2xk7fG0nYAX8mXyZ1&edm=ANTKIIoBAAAA&ccb=7-5&oh=00_AfB3kqv0Rm1Yx2Hc9QwZ&oe=65E8A1F2&_nc_sid=cf751b"


@pytest.fixture(scope="module")
def carousel(engine, platform_web):
    return capture_post(engine, platform_web.url("www.instagram.com", POST))


def photo(port: int, asset: str, size: str) -> str:
    return f"http://scontent-sin6-2.cdninstagram.com:{port}/v/t51.29350-15/{asset}_n.jpg?stp=dst-jpg_e35_{size}&{Q}"


def test_carousel_post_every_field(carousel, platform_web):
    captured, post = carousel
    port = platform_web.port
    assert post is not None, "no post.json"
    cdn = f"http://scontent-sin6-2.cdninstagram.com:{port}"
    media = post.pop("media")
    sources = post.pop("sources")
    assert post.pop("counts_read_at")
    assert post == {
        "format": "archiver.post/1",
        "platform": "instagram",
        "id": "C4FqZ2bL8xN",
        "url": "https://www.instagram.com/p/C4FqZ2bL8xN/",
        "author": {
            "display_name": "NASA",
            "handle": "@nasa",
            "url": "https://www.instagram.com/nasa/",
            "id": "528817151",
            "avatar_url": f"{cdn}/v/t51.2885-19/29090066_159271188110124_1152068159029641216_n.jpg"
            "?stp=dst-jpg_s320x320&_nc_ht=scontent-sin6-2.cdninstagram.com&oh=00_AfAvatarHD&oe=65E9C0A1",
            "verified": True,
        },
        "published": "2024-03-01T14:30:00Z",
        "published_raw": "1709303400",
        # Instagram posts have no title and state no language: og:title and <html lang> are the
        # page's name and interface language, never taken for the post's
        "title": None,
        "text": CAPTION,
        "links": [
            {"kind": "mention", "text": "@iss", "url": "https://www.instagram.com/iss/"},
            {"kind": "mention", "text": "@esa", "url": "https://www.instagram.com/esa/"},
            {"kind": "hashtag", "text": "#EarthFromSpace", "url": "https://www.instagram.com/explore/tags/EarthFromSpace/"},
            {"kind": "hashtag", "text": "#typhoon", "url": "https://www.instagram.com/explore/tags/typhoon/"},
            {"kind": "hashtag", "text": "#ISS", "url": "https://www.instagram.com/explore/tags/ISS/"},
        ],
        "language": None,
        "counts": [
            {"name": "likes", "displayed": "48,213", "value": 48213},
            {"name": "comments", "displayed": "1024", "value": 1024},
        ],
        "relations": {"reply_to": None, "quote_of": None, "repost_of": None, "thread_root": None},
        "extraction": {"extractor": "instagram", "version": 1, "fallback_used": []},
    }
    assert [(s["kind"], s["locator"], s["fields"]) for s in sources[:4]] == [
        ("url", platform_web.url("www.instagram.com", POST), ["id", "url"]),
        ("embedded-json", SJS, ["author", "published", "text", "links", "media"]),
        ("dom", 'a[href$="/C4FqZ2bL8xN/liked_by/"]', ["counts.likes"]),
        ("embedded-json", SJS, ["counts.comments"]),
    ]
    assert sources[4:] == []  # nothing taken from the generic reading

    # every slide at full size (the largest candidate, not the 1080 the page shows)
    shown = [{k: m[k] for k in ("type", "url", "alt", "width", "height", "poster_url")} for m in media]
    assert shown == [
        {"type": "image", "url": photo(port, "431234101_1440221889912345_8812345678901234567", "s1440x1440"),
         "alt": "Photo by NASA on March 01, 2024. May be an image of cloud, ocean and text that says 'ISS'.",
         "width": 1440, "height": 1800, "poster_url": None},
        {"type": "video",
         "url": f"{cdn}/v/t50.2886-16/431234999_1112223334445556_1234567890123456789_n.mp4?_nc_ht=scontent-sin6-2.cdninstagram.com"
                "&_nc_cat=109&_nc_ohc=Vd0xYZ&edm=ANTKIIoBAAAA&ccb=7-5&oh=00_AfVideo720&oe=65E8F0C3&_nc_sid=cf751b",
         "alt": None, "width": 720, "height": 1280,
         "poster_url": photo(port, "431234102_7722130012345678_4455667788990011223", "s1440x1440")},
        {"type": "image", "url": photo(port, "431234103_9988776655443322_1029384756102938475", "s1440x1440"),
         "alt": "Photo by NASA on March 01, 2024. May be an image of storm.", "width": 1440, "height": 1440, "poster_url": None},
    ]
    for m in media:
        assert m["path"] and m["sha256"], m["note"]
        assert hashlib.sha256((captured.path / m["path"]).read_bytes()).hexdigest() == m["sha256"]
    assert [m["media_type"] for m in media] == ["image/jpeg", "video/mp4", "image/jpeg"]

    assert_post_shot(captured.path)
    outcome = provenance(captured)["post"]
    assert (outcome["found"], outcome["extractor"], outcome["login_required"]) == (True, "instagram", None)
    assert (outcome["media_archived"], outcome["media_missing"]) == (3, 0)


def test_behaviours_close_dialog_and_step_the_carousel(carousel):
    captured, _post = carousel
    done = {b["name"]: b for b in provenance(captured)["behaviours"]}
    assert done["instagram-login-dialog"]["actions"] == ['closed the login dialog (div[role=dialog] [aria-label="Close"])']
    assert done["instagram-carousel"]["actions"] == [
        'stepped through the carousel: 2 clicks on button[aria-label="Next"], 3 slides in the page',
        'back to the first slide (2 clicks on button[aria-label="Go back"])',
    ]
    dom = (captured.path / "dom.html").read_text()
    assert "See more from nasa" not in dom  # the dialog is gone from the snapshot
    assert dom.count('class="_acaz"') == 3  # the third slide exists only after stepping
    # the slide the page renders only when reached was loaded by the page itself (a srcset
    # variant; the s1440x1440 full size is what the media stage fetches)
    third = responses(warc_records(captured.path / "archive.warc.gz"), "431234103_9988776655443322_1029384756102938475_n.jpg?stp=dst-jpg_e35_p")
    assert third and {r["status"] for r in third} == {200}


def test_login_redirect_is_a_login_wall(engine, platform_web):
    captured, post = capture_post(engine, platform_web.url("www.instagram.com", WALLED))
    outcome = provenance(captured)["post"]
    final = platform_web.url("www.instagram.com", "/accounts/login/?next=%2Fp%2FC4WALLx9Qz1%2F")
    assert outcome["login_required"] == f"the page redirected to Instagram's login page ({final})"
    assert post is None or post["extraction"]["extractor"] != "instagram"
    assert extract_capture(captured.path).login_required == outcome["login_required"]


# -- the same post in Instagram's other JSON shapes ------------------------------------------


def _evidence(api_url: str, fixture: str) -> PageEvidence:
    store = ResponseStore()
    body = re.sub(r"\{\{host:([^}]+)\}\}", r"\1:8000", (FIXTURES / fixture).read_text())
    store.add(api_url, 200, "application/json; charset=utf-8", body.encode())
    url = "https://www.instagram.com/p/C4FqZ2bL8xN/"
    return PageEvidence(url, url, '<html lang="en"><body><div id="mount_0_0_Ab"></div></body></html>', store)


@pytest.mark.parametrize(
    ("api_url", "fixture"),
    [
        ("https://www.instagram.com/api/graphql", "api_graphql_polaris.json"),  # PolarisLoggedOutDesktopWWWPostRootContentQuery
        ("https://www.instagram.com/graphql/query", "graphql_shortcode_media.json"),  # xdt_shortcode_media
    ],
)
def test_api_shapes_give_the_same_post(api_url, fixture):
    post = PLATFORM.extract(_evidence(api_url, fixture))
    assert post is not None
    assert (post.id, post.url, post.text, post.published_raw) == ("C4FqZ2bL8xN", "https://www.instagram.com/p/C4FqZ2bL8xN/", CAPTION, "1709303400")
    assert (post.author.handle, post.author.display_name, post.author.id, post.author.verified) == ("@nasa", "NASA", "528817151", True)
    assert [m.type.value for m in post.media] == ["image", "video", "image"]
    assert [(m.width, m.height) for m in post.media[::2]] == [(1440, 1800), (1440, 1440)]
    assert "s1440x1440" in post.media[0].url and post.media[1].url.split("?")[0].endswith("_n.mp4")
    assert [(c.name, c.displayed) for c in post.counts] == [("likes", "48213"), ("comments", "1024")]
    assert post.sources[1].kind.value == "api-json" and post.sources[1].locator == api_url
