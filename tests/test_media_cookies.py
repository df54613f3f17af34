"""What real social sites do beyond plain pages: media streamed with Range requests (206
Partial Content), and cookies set by the page and sent back by its scripts.

Every WARC must pass `warcio check`; payloads are compared with the bytes the server holds.
"""

from __future__ import annotations

import re

import pytest
from fixtures import pages
from fixtures.site import clip_wav
from helpers import checked_records, launch_viewer, provenance, responses

from archiver.models import CaptureState

CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


def check_warc(result):
    return checked_records(result.path / "archive.warc.gz")


def header(record, name: str) -> list[str]:
    """Every value of header ``name`` (any case) in the record's HTTP head."""
    return [v for k, v in record["http_list"] if k.lower() == name.lower()]


def request_for(records, response):
    by_id = {r["warc"]["WARC-Record-ID"]: r for r in records}
    request = by_id[response["warc"]["WARC-Concurrent-To"]]
    assert request["type"] == "request" and request["uri"] == response["uri"]
    return request


def media_spans(records, uri_part: str) -> list[tuple[int, int]]:
    """Check every recorded response for the clip against the file; the byte spans they hold."""
    clip = clip_wav()
    found = responses(records, uri_part)
    assert found, [r["uri"] for r in records if r["type"] == "response"]
    spans = []
    for record in found:
        assert record["status"] in (200, 206), record["status_line"]
        assert "WARC-Truncated" not in record["warc"], record["warc"]
        assert header(record, "Content-Type") == ["audio/wav"]
        assert header(record, "Accept-Ranges") == ["bytes"]
        assert int(header(record, "Content-Length")[0]) == len(record["payload"])
        if record["status"] == 206:
            assert record["status_line"] == "HTTP/1.1 206 Partial Content"
            (content_range,) = header(record, "Content-Range")
            match = CONTENT_RANGE.match(content_range)
            assert match, content_range
            first, last, total = map(int, match.groups())
            assert total == len(clip)
            assert record["payload"] == clip[first:last + 1], content_range
            # the request record says which range the browser asked for
            (asked,) = header(request_for(records, record), "Range")
            assert asked.startswith(f"bytes={first}-"), (asked, content_range)
            spans.append((first, last))
        else:
            assert record["payload"] == clip
            spans.append((0, len(clip) - 1))
    return sorted(spans)


def covers(spans: list[tuple[int, int]], size: int) -> bool:
    reached = -1
    for first, last in sorted(spans):
        if first > reached + 1:
            return False
        reached = max(reached, last)
    return reached == size - 1


# ---- media with Range requests ------------------------------------------------------------

def test_watch_page_media_range_response_recorded_byte_exact(engine, web):
    result = engine.capture(f"{web.main}/watch")
    assert result.state == CaptureState.COMPLETE, provenance(result)["limits_hit"]
    records = check_warc(result)
    # the browser really asked with Range and got 206 from the fixture
    asked = [r for r in web.main_server.requests if r.url_path == "/media/clip.wav"]
    assert asked and all(r.headers.get("range", "").startswith("bytes=") for r in asked)
    spans = media_spans(records, "/media/clip.wav")
    assert covers(spans, len(clip_wav())), spans
    assert pages.WATCH_TEXT.encode() in responses(records, "/watch")[0]["payload"]
    assert 'data-duration="3"' in (result.path / "dom.html").read_text()


def test_media_served_in_chunks_every_partial_response_recorded(engine, web):
    """A server that caps each 206 (like big media CDNs): the browser walks through the file
    with several Range requests; each partial response is its own, byte-exact record."""
    result = engine.capture(f"{web.main}/watch-chunked")
    records = check_warc(result)
    spans = media_spans(records, "/media/clip.wav?chunk=32768")
    size = len(clip_wav())
    assert len(spans) >= (size + 32767) // 32768, spans
    assert covers(spans, size), spans


# ---- cookies ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cookie_capture(engine, web):
    result = engine.capture(f"{web.main}/cookie-post")
    return result, check_warc(result)


def test_cookie_post_fixture_sends_the_cookie(cookie_capture, web):
    """The fixture works: the browser stored the cookie and sent it to /api/whoami."""
    result, _ = cookie_capture
    whoami = [r for r in web.main_server.requests if r.url_path == "/api/whoami"]
    assert whoami and f"{pages.COOKIE_NAME}={pages.COOKIE_VALUE}" in whoami[-1].headers.get("cookie", "")
    assert "Signed in as rinakusuma" in (result.path / "dom.html").read_text()


def test_set_cookie_recorded_on_page_response(cookie_capture):
    _, records = cookie_capture
    page = responses(records, "/cookie-post")
    assert len(page) == 1
    assert header(page[0], "Set-Cookie") == [pages.COOKIE_SET]


def test_cookie_recorded_as_sent_on_script_request(cookie_capture):
    """The request record carries the headers as sent on the wire
    (Network.requestWillBeSentExtraInfo), cookies included, even when the page's main thread
    is busy right after the fetch() and Chromium reports the wire headers first."""
    _, records = cookie_capture
    (whoami,) = responses(records, "/api/whoami")
    request = request_for(records, whoami)
    assert header(request, "Cookie") == [f"{pages.COOKIE_NAME}={pages.COOKIE_VALUE}"], request["http_list"]
    # the rest of the wire headers too, not only the renderer's view of them
    assert header(request, "Accept-Encoding"), request["http_list"]
    assert header(request, "Connection") == ["keep-alive"], request["http_list"]
    # and the response's wire headers: the API refreshed a cookie
    assert header(whoami, "Set-Cookie") == [pages.WHOAMI_COOKIE_SET], whoami["http_list"]


def test_media_seen_only_in_pieces_is_fetched_whole_once(engine, web):
    """Replay tools cannot stitch 206 pieces; the capture adds one whole 200 fetch of it,
    from inside the page, recorded like every other exchange."""
    result = engine.capture(f"{web.main}/watch-chunked", dedup={"enabled": False})
    records = check_warc(result)
    whole = [r for r in responses(records, "/media/clip.wav?chunk=32768") if r["status"] == 200]
    assert len(whole) == 1 and whole[0]["payload"] == clip_wav()
    steps = {s["name"]: s for s in provenance(result)["steps"]}
    assert steps["media-whole"]["outcome"] == "ok" and "fetched 1 of 1" in steps["media-whole"]["detail"]


@pytest.mark.slow
def test_chunked_media_replays_in_pywb(engine, web, tmp_path):
    from fixtures.pywb import PywbReplay
    from playwright.sync_api import sync_playwright

    result = engine.capture(f"{web.main}/watch-chunked", dedup={"enabled": False})
    with PywbReplay([result.path / "archive.warc.gz"], tmp_path / "pywb") as replay, sync_playwright() as pw:
        browser = launch_viewer(pw)
        try:
            page = browser.new_page()
            page.goto(replay.replay_url(f"{web.main}/watch-chunked"))
            page.wait_for_function("() => document.querySelector('audio').readyState >= 3", timeout=15000)
            state = page.evaluate("() => { const a = document.querySelector('audio'); return [a.duration, a.error]; }")
            assert state == [3, None]
        finally:
            browser.close()
