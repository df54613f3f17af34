"""X (Twitter) status pages captured with the real browser from the fixture site: the
React-style shell fetches GraphQL (TweetDetail / TweetResultByRestId) and renders
article[data-testid=tweet]; the extractor reads the API JSON and the DOM; the pipeline writes
post.json, post.png and archives the full-size media."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fixtures.platform_web import MEDIA
from helpers import capture_post, provenance, responses, warc_records, assert_post_shot

from archiver.platforms.evidence import PageEvidence
from archiver.platforms.x import PLATFORM, full_photo, normalise, rich_text, status_id

THREAD = "/NASA/status/1790777283179483136"
VIDEO = "/NASA/status/1797266920043470848"
GATED = "/NASA/status/1807700670673879040"


@pytest.fixture(scope="module")
def thread(engine, platform_web):
    return capture_post(engine, platform_web.url("x.com", THREAD))


@pytest.fixture(scope="module")
def video(engine, platform_web):
    return capture_post(engine, platform_web.url("x.com", VIDEO))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def behaviour(captured, name: str) -> dict:
    return next(b for b in provenance(captured)["behaviours"] if b["name"] == name)


def test_thread_post_every_field(thread, platform_web):
    captured, post = thread
    assert post is not None, provenance(captured)["post"]
    port = platform_web.port
    pbs = f"http://pbs.twimg.com:{port}"
    assert post.pop("counts_read_at")
    media = post.pop("media")
    sources = post.pop("sources")
    assert post == {
        "format": "archiver.post/1",
        "platform": "x",
        "id": "1790777283179483136",
        "url": "https://x.com/NASA/status/1790777283179483136",
        "author": {
            "display_name": "NASA",
            "handle": "@NASA",
            "url": "https://x.com/NASA",
            "id": "11348282",
            "avatar_url": f"{pbs}/profile_images/1321163587679784960/0ZxKlEKB_normal.jpg",
            "verified": True,
        },
        "published": "2024-05-15T16:12:30Z",
        "published_raw": "Wed May 15 16:12:30 +0000 2024",
        "title": None,  # X posts have none (og:title is the page's name, not taken)
        "text": "Liftoff rehearsal complete & the crew is go for the next phase! 🚀 Thanks to @SpaceX for the ride data. "
                "#Artemis\n\nFull timeline: nasa.gov/humans-in-space/…",
        "links": [
            {"kind": "mention", "text": "@SpaceX", "url": "https://x.com/SpaceX"},
            {"kind": "hashtag", "text": "#Artemis", "url": "https://x.com/hashtag/Artemis"},
            {"kind": "link", "text": "nasa.gov/humans-in-space/…",
             "url": "https://www.nasa.gov/humans-in-space/artemis-ii-timeline/"},
        ],
        "language": "en",
        "counts": [
            {"name": "replies", "displayed": "2.1K", "value": 2100},
            {"name": "reposts", "displayed": "10.3K", "value": 10300},
            {"name": "likes", "displayed": "80.1K", "value": 80100},
            {"name": "bookmarks", "displayed": "1.2K", "value": 1200},
            {"name": "views", "displayed": "1.2M", "value": 1200000},
        ],
        "relations": {
            "reply_to": "https://x.com/NASA/status/1790775395742666752",
            "quote_of": "https://x.com/SpaceX/status/1790472147563458560",
            "repost_of": None,
            "thread_root": "https://x.com/NASA/status/1790774137451450368",
        },
        "extraction": {"extractor": "x", "version": 1, "fallback_used": []},
    }
    # full-size photos (name=orig, not the name=small the page showed), the quoted post's photo not among them
    expected = [
        (f"{pbs}/media/GNa1xQbWcAAq3Zr?format=jpg&name=orig", "The Orion crew module on the launch pad at sunrise", 2048, 1365),
        (f"{pbs}/media/GNa1xQcXEAAb9Yt?format=jpg&name=orig", None, 1600, 1200),
    ]
    assert len(media) == 2
    for index, (item, (url, alt, width, height)) in enumerate(zip(media, expected), 1):
        file = captured.path / item["path"]
        assert item == {
            "type": "image", "url": url, "alt": alt, "width": width, "height": height, "poster_url": None,
            "path": f"media/{index:02d}.jpg", "sha256": sha256(file), "size": file.stat().st_size,
            "media_type": "image/jpeg", "origin": "fetched", "warc_uri": url, "note": None,
        }
    from PIL import Image

    assert Image.open(captured.path / media[0]["path"]).size == (2048, 1365)
    api = next(s for s in sources if s["kind"] == "api-json")
    assert "/i/api/graphql/" in api["locator"] and "/TweetDetail?" in api["locator"]
    assert api["fields"] == [
        "url", "author.display_name", "author.handle", "author.url", "author.id", "author.avatar_url",
        "author.verified", "published", "text", "links", "language", "media",
        "relations.reply_to", "relations.quote_of", "relations.thread_root",
    ]
    assert [(s["kind"], s["fields"]) for s in sources if s["kind"] != "api-json"] == [
        ("url", ["id"]),
        ("dom", ["counts"]),
    ]
    assert_post_shot(captured.path)
    outcome = provenance(captured)["post"]
    assert outcome["element_screenshot"] == "post.png" and outcome["media_archived"] == 2
    assert outcome["login_required"] is None


def test_thread_behaviours_close_sheet_and_open_replies(thread):
    captured, _ = thread
    close = behaviour(captured, "x-close-login")
    assert close["actions"] == [
        "closed the sign-up sheet ([data-testid=sheetDialog] [data-testid=app-bar-close])",
        "hid the 'Don’t miss what’s happening' bar ([data-testid=BottomBar])",
    ]
    assert behaviour(captured, "x-replies")["actions"] == ["clicked 'Show more replies' (round 1)", "1 more replies shown"]
    ev = PageEvidence.from_capture(captured.path)
    assert not ev.select('[data-testid="sheetDialog"]')
    assert "display: none" in ev.first('[data-testid="BottomBar"]').getparent().get("style")
    handles = [a.get("href") for a in ev.select('article[data-testid="tweet"] [data-testid="User-Name"] a[tabindex="-1"]')]
    assert handles == ["/NASA", "/NASA", "/NASA", "/SpaceX", "/ana_orbits", "/budi_s", "/k_lee"]  # SpaceX: the quote
    # the second page of replies came from the API with the cursor, and is in the WARC
    more = responses(warc_records(captured.path / "archive.warc.gz"), "/TweetDetail?variables=")
    assert len(more) == 2 and "%22cursor%22" in more[1]["uri"]


def test_video_post_archived_and_show_more(video, platform_web):
    captured, post = video
    assert post is not None, provenance(captured)["post"]
    port = platform_web.port
    (item,) = post["media"]
    file = captured.path / item["path"]
    url = f"http://video.twimg.com:{port}/amplify_video/1797266416726966272/vid/avc1/1280x720/Zk9Yx8Wv7Ut6Sr5q.mp4?tag=16"
    assert item == {
        "type": "video", "url": url, "alt": "Time-lapse of the Crew Dragon approaching and docking to the station",
        "width": 1280, "height": 720,
        "poster_url": f"http://pbs.twimg.com:{port}/amplify_video_thumb/1797266416726966272/img/Q3c9xk2LmN0pRt7v.jpg",
        "path": "media/01.mp4", "sha256": sha256(file), "size": file.stat().st_size, "media_type": "video/mp4",
        "origin": "fetched", "warc_uri": url, "note": None,
    }
    assert item["sha256"] == sha256(MEDIA / "clip.mp4")
    # the long post (note_tweet) in full, although the page first showed its first part only
    assert post["text"].endswith("running more than 200 experiments.\n\nMore: nasa.gov/blogs/spacest… #ISS #CrewDragon")
    assert post["text"].startswith("Docking confirmed! The Crew Dragon spacecraft attached to the forward port of the @Space_Station")
    assert [link["text"] for link in post["links"]] == ["@Space_Station", "nasa.gov/blogs/spacest…", "#ISS", "#CrewDragon"]
    assert post["relations"] == {"reply_to": None, "quote_of": None, "repost_of": None, "thread_root": None}
    assert [(c["name"], c["displayed"]) for c in post["counts"]] == [
        ("replies", "301"), ("reposts", "2.2K"), ("likes", "15.4K"), ("bookmarks", "611"), ("views", "987.7K")]
    assert post["counts_read_at"] and post["published"] == "2024-06-02T14:00:00Z"
    assert any("api.x.com" in s["locator"] and "TweetResultByRestId" in s["locator"] for s in post["sources"])
    # x-show-more expanded the text in the page itself: the DOM snapshot holds the whole post
    assert behaviour(captured, "x-show-more")["actions"] == [
        "expanded 'Show more' of the post ([data-testid=tweet-text-show-more-link])"]
    ev = PageEvidence.from_capture(captured.path)
    assert not ev.select('[data-testid="tweet-text-show-more-link"]')
    assert "#CrewDragon" in ev.first('[data-testid="tweetText"]').text_content()
    assert_post_shot(captured.path)


def test_dom_only_reading(thread, platform_web):
    """Without the recorded API responses the post is read from the rendered article."""
    captured, _ = thread
    ev = PageEvidence.from_capture(captured.path)
    ev.store.responses.clear()
    post = PLATFORM.extract(ev)
    assert post is not None
    pbs = f"http://pbs.twimg.com:{platform_web.port}"
    assert post.url == "https://x.com/NASA/status/1790777283179483136"
    assert post.author.model_dump() == {
        "display_name": "NASA", "handle": "@NASA", "url": "https://x.com/NASA", "id": None,
        "avatar_url": f"{pbs}/profile_images/1321163587679784960/0ZxKlEKB_normal.jpg", "verified": True,
    }
    assert post.published_raw == "2024-05-15T16:12:30.000Z"
    assert post.text == ("Liftoff rehearsal complete & the crew is go for the next phase! 🚀 Thanks to @SpaceX for the "
                         "ride data. #Artemis\n\nFull timeline: nasa.gov/humans-in-space/…")
    assert [(link.kind.value, link.text, link.url) for link in post.links] == [
        ("mention", "@SpaceX", "https://x.com/SpaceX"), ("hashtag", "#Artemis", "https://x.com/hashtag/Artemis"),
        ("link", "nasa.gov/humans-in-space/…", "https://www.nasa.gov/humans-in-space/artemis-ii-timeline/")]
    assert [m.url for m in post.media] == [f"{pbs}/media/GNa1xQbWcAAq3Zr?format=jpg&name=orig",
                                           f"{pbs}/media/GNa1xQcXEAAb9Yt?format=jpg&name=orig"]
    assert post.media[0].alt == "The Orion crew module on the launch pad at sunrise" and post.media[1].alt is None
    assert [c.displayed for c in post.counts] == ["2.1K", "10.3K", "80.1K", "1.2K", "1.2M"]
    assert post.language == "en" and [s.kind.value for s in post.sources] == ["url", "dom"]


def test_login_wall(engine, platform_web):
    captured, post = capture_post(engine, platform_web.url("x.com", GATED))
    assert post is None
    outcome = provenance(captured)["post"]
    assert outcome["found"] is False
    assert outcome["login_required"] == "X sent the page to its login flow (/i/flow/login)"
    # from the sealed folder (provenance keeps the requested URL): the API's answer says why
    ev = PageEvidence.from_capture(captured.path)
    assert PLATFORM.login_wall(ev) in (
        "X sent the page to its login flow (/i/flow/login)",
        "X's API gave no post, only TweetUnavailable (NsfwLoggedOut): shown to logged-in users only",
    )


def test_urls_and_text_readers():
    assert status_id("http://x.com:8080/NASA/status/123?s=20") == "123"
    assert status_id("https://mobile.twitter.com/i/web/status/456") == "456"
    assert status_id("https://x.com/NASA") is None
    assert PLATFORM.matches("http://x.com:41234/NASA/status/1") and PLATFORM.matches("https://mobile.twitter.com/a/status/2")
    assert normalise("http://twitter.com/SpaceX/status/99?s=1") == "https://x.com/SpaceX/status/99"
    assert full_photo("https://pbs.twimg.com/media/AbC.png") == "https://pbs.twimg.com/media/AbC?format=png&name=orig"
    assert full_photo("https://pbs.twimg.com/media/AbC?format=webp&name=small") == \
        "https://pbs.twimg.com/media/AbC?format=webp&name=orig"
    # a reply's leading "@user " is outside display_text_range; indices off after &amp; are found anyway
    ents = {"user_mentions": [{"screen_name": "bob", "indices": [0, 4]}, {"screen_name": "eve", "indices": [99, 103]}],
            "urls": [{"url": "https://t.co/x", "display_url": "ex.com/a", "expanded_url": "https://ex.com/a", "indices": [30, 44]}]}
    text, links = rich_text("@bob a &amp; b, ask @Eve https://t.co/x", ents, (5, 39), set())
    assert text == "a & b, ask @Eve ex.com/a"
    assert [(link.text, link.url) for link in links] == [("@Eve", "https://x.com/eve"), ("ex.com/a", "https://ex.com/a")]
