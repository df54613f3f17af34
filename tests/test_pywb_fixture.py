"""The pywb fixture replays a warcio-written WARC that a plain Chromium can open."""

import io
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.sync_api import sync_playwright
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

# pytest puts tests/ on sys.path; `tests.fixtures` would not import because
# pywb installs its own top-level `tests` package into site-packages.
from fixtures.pywb import PywbReplay

pytestmark = pytest.mark.slow

POST = "http://social.test:8000/post/1"
IMAGE = "http://social.test:8000/media/a.png"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def png_bytes(size=(4, 3)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def write_exchange(writer: WARCWriter, url: str, content_type: str, body: bytes) -> None:
    parts = urlsplit(url)
    req = StatusAndHeaders(f"GET {parts.path} HTTP/1.1",
                           [("Host", parts.netloc), ("User-Agent", "test")],
                           is_http_request=True)
    resp = StatusAndHeaders("200 OK", [("Content-Type", content_type),
                                       ("Content-Length", str(len(body)))],
                            protocol="HTTP/1.1")
    response = writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                         http_headers=resp)
    request = writer.create_warc_record(url, "request", http_headers=req)
    writer.write_request_response_pair(request, response)


def make_warc(path) -> None:
    html = (b"<!doctype html><html><head><title>Post 1</title></head><body>"
            b"<p id='text'>Hello from the archive</p>"
            b"<img id='pic' src='/media/a.png'></body></html>")
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        write_exchange(writer, POST, "text/html; charset=utf-8", html)
        write_exchange(writer, IMAGE, "image/png", png_bytes())


def test_chromium_sees_archived_page_and_image(tmp_path):
    warc = tmp_path / "post.warc.gz"
    make_warc(warc)
    with PywbReplay([warc], tmp_path / "pywb") as replay, sync_playwright() as p:
        assert replay.base.startswith("http://127.0.0.1:")
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            off_host = []

            def only_local(route):
                if urlsplit(route.request.url).hostname == "127.0.0.1":
                    route.continue_()
                else:
                    off_host.append(route.request.url)
                    route.abort()

            page.route("**/*", only_local)
            page.goto(replay.replay_url(POST), wait_until="load")
            assert page.inner_text("#text") == "Hello from the archive"
            width = page.eval_on_selector(
                "#pic", "img => img.complete ? img.naturalWidth : 0")
            assert width == 4
            src = page.eval_on_selector("#pic", "img => img.currentSrc")
            assert src.startswith(replay.base) and src.endswith(IMAGE)
            assert off_host == []
        finally:
            browser.close()
