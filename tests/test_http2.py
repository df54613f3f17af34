"""HTTP/2 over TLS, as real social sites serve: recorded as HTTP/1.1 messages (Webrecorder
conventions) with the real protocol in WARC-Protocol, then replayed by pywb."""

from __future__ import annotations

import socket
import ssl

import pytest
from fixtures.h2site import H2_HOST, H2_JSON, H2_TEXT, H2Site, h2_pixel_png
from fixtures.pywb import PywbReplay
from helpers import checked_records, launch_viewer, provenance, responses
from playwright.sync_api import sync_playwright

from archiver.models import CaptureState


@pytest.fixture(scope="module")
def h2site():
    with H2Site() as site:
        yield site


@pytest.fixture(scope="module")
def h2capture(engine, h2site):
    return engine.capture(h2site.url("/"), browser={"ignore_https_errors": True})


@pytest.fixture(scope="module")
def h2records(h2capture):
    return checked_records(h2capture.path / "archive.warc.gz")


def _pairs(records):
    """(response, request) pairs linked by WARC-Concurrent-To."""
    by_id = {r["warc"]["WARC-Record-ID"]: r for r in records}
    return [(r, by_id[r["warc"]["WARC-Concurrent-To"]]) for r in records if r["type"] == "response"]


def test_fixture_negotiates_h2_with_a_valid_certificate(h2site):
    """Browser-free: ALPN picks h2, and the certificate verifies for h2.test against the test CA."""
    context = ssl.create_default_context(cafile=str(h2site.certs.ca_cert_path))
    context.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", h2site.port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=H2_HOST) as tls:
            assert tls.selected_alpn_protocol() == "h2"
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_h2_page_recorded_as_http11_with_warc_protocol(h2capture, h2records, h2site):
    assert h2capture.state == CaptureState.COMPLETE, provenance(h2capture)["limits_hit"]
    # the browser really spoke HTTP/2 to the server, for every request of the page
    seen = {r.path: r.http_version for r in h2site.requests}
    assert seen["/"] == "2" and seen["/media/h2-pixel.png"] == "2" and seen["/api/h2.json"] == "2"

    page = [r for r in responses(h2records, h2site.base) if r["uri"] == h2site.url("/")]
    assert len(page) == 1, [r["uri"] for r in h2records if r["type"] == "response"]
    page = page[0]
    assert page["status_line"] == "HTTP/1.1 200 OK"
    protocols = [v for k, v in page["warc_list"] if k == "WARC-Protocol"]
    assert "h2" in protocols, protocols
    assert any(v.startswith("tls/") for v in protocols), protocols
    assert page["warc"]["WARC-IP-Address"] == "127.0.0.1"
    # gzip on the wire, stored decoded
    names = {k.lower(): v for k, v in page["http_list"]}
    assert "content-encoding" not in names
    assert names["x-orig-content-encoding"] == "gzip"
    assert int(names["content-length"]) == len(page["payload"])
    assert H2_TEXT.encode() in page["payload"]
    assert page["payload"].startswith(b"<!doctype html>")

    assert provenance(h2capture)["protocol"] == "h2"


def test_h2_no_pseudo_headers_and_host_from_authority(h2records, h2site):
    pairs = [(resp, req) for resp, req in _pairs(h2records) if resp["uri"].startswith(h2site.base)]
    assert len(pairs) >= 3
    for resp, req in pairs:
        assert req["type"] == "request" and req["uri"] == resp["uri"]
        for record in (resp, req):
            pseudo = [name for name, _ in record["http_list"] if name.startswith(":")]
            assert not pseudo, (record["type"], record["uri"], pseudo)
        hosts = [v for k, v in req["http_list"] if k.lower() == "host"]
        assert hosts == [f"{H2_HOST}:{h2site.port}"], req["http_list"]
        assert req["status_line"] == "GET"  # warcio: the request line's method
        assert resp["status_line"].startswith("HTTP/1.1 ")
        assert "h2" in [v for k, v in resp["warc_list"] if k == "WARC-Protocol"]


def test_h2_subresources_bodies(h2records, h2site):
    pixel = responses(h2records, "/media/h2-pixel.png")
    assert pixel and pixel[0]["payload"] == h2_pixel_png()
    data = responses(h2records, "/api/h2.json")
    assert data and data[0]["payload"].decode() and H2_JSON["message"] in data[0]["payload"].decode()


@pytest.mark.slow
def test_h2_capture_replays_in_pywb(h2capture, h2site, tmp_path):
    warc = h2capture.path / "archive.warc.gz"
    with PywbReplay([warc], tmp_path / "pywb") as replay, sync_playwright() as pw:
        browser = launch_viewer(pw)
        try:
            page = browser.new_page()
            live: list[str] = []
            replay_root = replay.base.rsplit("/", 2)[0]
            page.on("request", lambda r: None if r.url.startswith(replay_root) else live.append(r.url))
            page.goto(replay.replay_url(h2site.url("/")), wait_until="load")
            page.wait_for_selector(f"text={H2_TEXT}", timeout=10_000)
            page.wait_for_selector(f"text={H2_JSON['message']}", timeout=10_000)
            assert page.evaluate(
                "() => { const i = document.getElementById('pixel'); return i.complete && i.naturalWidth; }"
            ) == 48
            assert not live, f"replay reached outside the archive: {live}"
        finally:
            browser.close()
