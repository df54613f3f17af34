"""Self-check of the fixture web (tests/fixtures) with the real Chromium."""

from __future__ import annotations

import gzip
import http.client
import socket
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from archiver.demo.server import DemoServer
from fixtures.site import (
    BIG_DEFAULT_SIZE,
    HOST_RESOLVER_RULES,
    FixtureHandler,
    FixtureWeb,
    clip_wav,
    deterministic_bytes,
    parse_range,
    report_bytes,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    f"--host-resolver-rules={HOST_RESOLVER_RULES}",
]
POST_TEXT = "Pejabat terlihat off-road di hari kerja"
REPLY_TEXT = "Ini jam kerja, bukan?"


@pytest.fixture(scope="module")
def web():
    with FixtureWeb() as fixture_web:
        yield fixture_web


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser):
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def get(host: str, port: int, path: str, headers: dict[str, str] | None = None):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


def test_demo_post_shows_images_and_replies(page: Page, web: FixtureWeb):
    response = page.goto(web.url("/post/1"))
    assert response is not None and response.ok
    assert response.headers.get("content-encoding") == "gzip"
    expect(page.locator("article.post .post-text")).to_contain_text(POST_TEXT)
    images = page.locator(".post-media img")
    expect(images).to_have_count(2)
    expect(page.locator('.post-media[data-state="loaded"]')).to_have_count(1)
    assert page.evaluate("[...document.querySelectorAll('.post-media img')].map(i => i.naturalWidth)") == [600, 600]
    expect(page.locator("article.reply .reply-text").first).to_have_text(REPLY_TEXT)
    replies = web.main_server.requests.wait_for("/api/replies")
    assert replies is not None and replies.path == "/api/replies?post=1"
    assert page.evaluate("JSON.parse(document.querySelector('script[type=\"application/ld+json\"]')"
                         ".textContent)['@type']") == "SocialMediaPosting"


def test_post_text_is_in_server_html(browser: Browser, web: FixtureWeb):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(web.url("/post/1"))
        expect(page.locator("article.post time[datetime]")).to_have_count(1)
        assert POST_TEXT in page.inner_text("article.post")
        expect(page.locator(".post-media img")).to_have_count(0)
    finally:
        context.close()


def test_feed_reaches_the_last_item_by_scrolling(page: Page, web: FixtureWeb):
    page.goto(web.url("/feed"))
    expect(page.locator(".feed-item")).to_have_count(10)
    last = page.get_by_text("Feed item 5-10", exact=True)
    deadline = time.monotonic() + 10
    while last.count() == 0 and time.monotonic() < deadline:
        page.mouse.wheel(0, 3000)
        page.wait_for_timeout(100)
    expect(last).to_be_visible()
    expect(page.locator(".feed-item")).to_have_count(60)
    feed_calls = [r.path for r in web.main_server.requests if r.url_path == "/api/feed"]
    assert feed_calls == [f"/api/feed?page={n}" for n in range(1, 6)]
    assert page.evaluate("document.documentElement.scrollHeight") > 10 * 900


def test_redirect_chain_lands(page: Page, web: FixtureWeb):
    response = page.goto(web.url("/r/start"))
    assert response is not None and response.status == 200
    assert page.url == web.url("/r/final")
    expect(page.locator("h1")).to_have_text("Redirect landed")
    middle = response.request.redirected_from
    assert middle is not None and middle.url == web.url("/r/middle")
    assert middle.redirected_from is not None and middle.redirected_from.url == web.url("/r/start")


def test_cross_origin_iframe(page: Page, web: FixtureWeb):
    page.goto(web.url("/iframe"))
    expect(page.locator("h1")).to_have_text("Parent page")
    frame = page.frame_locator("#cdn-frame")
    expect(frame.locator("h1")).to_have_text("Inside cross-origin frame")
    expect(frame.locator("#frame-data")).to_have_text("Frame data loaded")
    assert page.frames[1].url == f"{web.cdn}/frame"
    assert web.cdn_server.requests.wait_for("/frame-pixel.png") is not None


def test_https_pages_load(page: Page, web: FixtureWeb):
    response = page.goto(web.https + "/")
    assert response is not None and response.ok
    expect(page.locator("h1")).to_have_text("Secure page")
    page.goto(web.url("/post/1", "https"))
    expect(page.locator(".reply-text").first).to_have_text(REPLY_TEXT)


def test_http_details_without_browser(web: FixtureWeb):
    response, body = get("127.0.0.1", web.main_port, "/gzip")  # no Accept-Encoding at all
    assert response.getheader("Content-Encoding") == "gzip"
    assert int(response.getheader("Content-Length")) == len(body)
    assert b"Compressed page body" in gzip.decompress(body)

    response, body = get("127.0.0.1", web.main_port, "/no/such/page")
    assert response.status == 404 and b"Not found here" in body

    response, body = get("127.0.0.1", web.main_port, "/download/report.bin")
    assert response.getheader("Content-Disposition") == 'attachment; filename="report.bin"'
    assert response.getheader("Content-Type") == "application/octet-stream"
    assert body == report_bytes() and len(body) == 64 * 1024

    response, body = get("127.0.0.1", web.main_port, "/big.bin?size=100000")
    assert body == deterministic_bytes(100_000, "big.bin")
    response, _ = get("127.0.0.1", web.main_port, "/big.bin")
    assert int(response.getheader("Content-Length")) == BIG_DEFAULT_SIZE

    response, _ = get("127.0.0.1", web.main_port, "/")
    assert response.status == 302 and response.getheader("Location") == "/post/1"


def test_clip_is_a_deterministic_three_second_wav():
    import io
    import wave

    assert clip_wav() == clip_wav.__wrapped__()
    with wave.open(io.BytesIO(clip_wav())) as wav:
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
        assert wav.getnframes() / wav.getframerate() == 3.0


@pytest.mark.parametrize(("header", "size", "expected"), [
    (None, 100, None),
    ("bytes=0-", 100, (0, 99)),
    ("bytes=10-19", 100, (10, 19)),
    ("bytes=90-200", 100, (90, 99)),
    ("bytes=-30", 100, (70, 99)),
    ("bytes=-300", 100, (0, 99)),
    ("bytes=100-", 100, False),
    ("bytes=20-10", 100, False),
    ("bytes=-0", 100, False),
    ("bytes=0-1,5-6", 100, None),  # several ranges: answered with the whole body
    ("items=0-1", 100, None),
])
def test_parse_range(header, size, expected):
    assert parse_range(header, size) == expected


def test_media_range_requests_without_browser(web: FixtureWeb):
    clip = clip_wav()
    response, body = get("127.0.0.1", web.main_port, "/media/clip.wav")
    assert response.status == 200 and body == clip
    assert response.getheader("Accept-Ranges") == "bytes" and response.getheader("Content-Type") == "audio/wav"
    etag = response.getheader("ETag")

    response, body = get("127.0.0.1", web.main_port, "/media/clip.wav", {"Range": "bytes=44-1043"})
    assert response.status == 206 and body == clip[44:1044]
    assert response.getheader("Content-Range") == f"bytes 44-1043/{len(clip)}"
    assert int(response.getheader("Content-Length")) == 1000

    response, body = get("127.0.0.1", web.main_port, "/media/clip.wav", {"Range": "bytes=-100"})
    assert response.status == 206 and body == clip[-100:]

    response, body = get("127.0.0.1", web.main_port, "/media/clip.wav?chunk=4096", {"Range": "bytes=0-"})
    assert response.status == 206 and body == clip[:4096]
    assert response.getheader("Content-Range") == f"bytes 0-4095/{len(clip)}"

    response, body = get("127.0.0.1", web.main_port, "/media/clip.wav", {"Range": f"bytes={len(clip)}-"})
    assert response.status == 416 and body == b""
    assert response.getheader("Content-Range") == f"bytes */{len(clip)}"

    # If-Range with our ETag honours the range; with another validator, the whole body
    response, body = get("127.0.0.1", web.main_port, "/media/clip.wav", {"Range": "bytes=0-9", "If-Range": etag})
    assert response.status == 206 and body == clip[:10]
    response, body = get("127.0.0.1", web.main_port, "/media/clip.wav", {"Range": "bytes=0-9", "If-Range": '"old"'})
    assert response.status == 200 and body == clip


def test_cookie_post_sets_cookie_and_whoami_reads_it(web: FixtureWeb):
    from fixtures import pages

    response, _ = get("127.0.0.1", web.main_port, "/cookie-post")
    assert response.getheader("Set-Cookie") == pages.COOKIE_SET
    response, body = get("127.0.0.1", web.main_port, "/api/whoami")
    assert b'"signed_in": false' in body and response.getheader("Set-Cookie") is None
    response, body = get("127.0.0.1", web.main_port, "/api/whoami", {"Cookie": "a=b; session=abc123"})
    assert b'"signed_in": true' in body and response.getheader("Set-Cookie") == pages.WHOAMI_COOKIE_SET


@pytest.mark.parametrize("name", ["secure.test", "localhost", "127.0.0.1"])
def test_tls_certificate_verifies_against_test_ca(web: FixtureWeb, name: str):
    context = web.certs.client_context()  # trusts only the test CA, checks the hostname
    with socket.create_connection(("127.0.0.1", web.https_port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=name) as tls:
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
            data = b"".join(iter(lambda: tls.recv(65536), b""))
    assert data.startswith(b"HTTP/1.1 200 ") and b"Secure page" in data


def test_stop_is_fast_while_a_response_hangs():
    server = DemoServer(handler_class=FixtureHandler, name="hang").start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/hang")
    response = conn.getresponse()
    assert response.status == 200 and response.read(1) == b"\x89"
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.5
    conn.close()
