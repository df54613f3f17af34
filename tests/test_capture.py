"""The capture engine against the fixture web, with the real Chromium.

Every test opens the WARC and asserts on its records; every WARC must pass `warcio check`.
"""

from __future__ import annotations

import io
import json

import pytest
from helpers import EngineThread, POST_TEXT, REPLY_TEXT, checked_records, make_settings, provenance, responses, warc_records
from PIL import Image

from archiver.models import CaptureState



def check_warc(result):
    records = checked_records(result.path / "archive.warc.gz")
    assert records[0]["type"] == "warcinfo"
    return records


@pytest.fixture(scope="module")
def post(engine, web):
    # dedup off: these tests read every body in this capture's own WARC
    return engine.capture(f"{web.main}/post/1", dedup={"enabled": False})


def test_post_page_records_every_exchange(post, web):
    assert post.state == CaptureState.COMPLETE, provenance(post)["limits_hit"]
    records = check_warc(post)
    info = records[0]["payload"].decode()
    assert "software: archiver/" in info and "HeadlessChrome" in info
    page = responses(records, "/post/1")
    assert page and page[0]["status"] == 200
    assert POST_TEXT.encode() in page[0]["payload"]
    # images inserted by script after load, replies via fetch()
    media = [r for r in records if r["type"] == "response" and "/media/" in r["uri"]]
    assert len({r["uri"] for r in media}) >= 2
    for r in media:
        if r["http"].get("Content-Type", "").startswith("image/"):
            Image.open(io.BytesIO(r["payload"])).verify()
    replies = responses(records, "/api/replies")
    assert replies and REPLY_TEXT in replies[0]["payload"].decode("utf-8")
    # every response has its request, linked both ways, and the server's IP
    by_id = {r["warc"]["WARC-Record-ID"]: r for r in records}
    for r in records:
        if r["type"] == "response":
            req = by_id[r["warc"]["WARC-Concurrent-To"]]
            assert req["type"] == "request" and req["uri"] == r["uri"]
            assert req["warc"]["WARC-Concurrent-To"] == r["warc"]["WARC-Record-ID"]
            assert r["warc"]["WARC-IP-Address"] == "127.0.0.1"
            assert r["warc"]["WARC-Payload-Digest"].startswith("sha256:")
            assert r["status_line"].startswith("HTTP/1.1 ")


def test_post_attachments_are_files_and_resource_records(post):
    records = check_warc(post)
    prov = provenance(post)
    kinds = {a["kind"]: a for a in prov["attachments"]}
    assert set(kinds) == {"screenshot-viewport", "screenshot-full", "dom", "pdf", "screenshot-post"}
    resources = {r["uri"]: r for r in records if r["type"] == "resource"}
    for att in kinds.values():
        data = (post.path / att["path"]).read_bytes()
        assert resources[att["warc_uri"]]["payload"] == data
        assert len(data) == att["size"]
    view = Image.open(post.path / "screenshot-viewport.png")
    assert view.size == (1600, 900)
    # the post element alone: narrower than the page, and its own WARC record
    element = Image.open(post.path / "post.png")
    assert element.size[0] < 1600 and element.size[1] > 100
    assert kinds["screenshot-post"]["warc_uri"] == f"urn:element:{prov['requested_url']}"
    dom = (post.path / "dom.html").read_text()
    assert POST_TEXT in dom and REPLY_TEXT in dom  # DOM after scripts ran
    assert (post.path / "page.pdf").read_bytes().startswith(b"%PDF")
    assert f"urn:provenance:{prov['requested_url']}" in resources


def test_post_provenance(post, web):
    prov = provenance(post)
    assert prov["requested_url"] == f"{web.main}/post/1"
    assert prov["final_url"] == f"{web.main}/post/1"
    assert prov["http_status"] == 200
    assert prov["server_ip"] == "127.0.0.1" and prov["server_port"] == web.main_port
    assert prov["title"]
    assert prov["software"]["browser"].startswith(("Chrome/", "HeadlessChrome/"))
    assert prov["viewport"] == {"width": 1600, "height": 900}
    assert prov["started"] < prov["ended"]
    steps = [s["name"] for s in prov["steps"]]
    # nothing for the behaviours to do on this page: no extra network-idle wait after them
    assert steps[:4] == ["navigate", "network-idle", "behaviours", "scroll"]
    assert [b["name"] for b in prov["behaviours"]] == ["consent", "play-videos"]
    assert prov["warc"]["responses"] >= 5
    assert not post.path.name.startswith(".")
    assert "social.test" in post.path.name


def test_redirect_chain_each_hop_recorded(engine, web):
    result = engine.capture(f"{web.main}/r/start")
    records = check_warc(result)
    prov = provenance(result)
    assert [(h["status"], h["url"].split(str(web.main_port))[1]) for h in prov["redirect_chain"]] == [
        (301, "/r/start"),
        (302, "/r/middle"),
        (200, "/r/final"),
    ]
    assert prov["final_url"].endswith("/r/final")
    statuses = {r["uri"].split(str(web.main_port))[1]: r for r in records if r["type"] == "response"}
    assert statuses["/r/start"]["status"] == 301
    assert statuses["/r/start"]["http"]["Location"].endswith("/r/middle")
    assert statuses["/r/middle"]["status"] == 302
    assert b"Redirect landed" in statuses["/r/final"]["payload"]
    requests = [r for r in records if r["type"] == "request" and "/r/" in r["uri"]]
    assert len(requests) == 3


def test_gzip_page_stored_decoded_with_orig_header(engine, web):
    result = engine.capture(f"{web.main}/gzip")
    records = check_warc(result)
    page = responses(records, "/gzip")[0]
    assert b"Compressed page body" in page["payload"]
    names = {k.lower(): v for k, v in page["http_list"]}
    assert "content-encoding" not in names
    assert names["x-orig-content-encoding"] == "gzip"
    assert int(names["content-length"]) == len(page["payload"])
    # the original compressed length survives
    assert int(names["x-orig-content-length"]) < len(page["payload"])


def test_cross_origin_iframe_recorded(engine, web):
    result = engine.capture(f"{web.main}/iframe")
    records = check_warc(result)
    frame = [r for r in records if r["type"] == "response" and r["uri"] == f"{web.cdn}/frame"]
    assert frame, [r["uri"] for r in records if r["type"] == "response"]
    assert b"Inside cross-origin frame" in frame[0]["payload"]
    # subresources loaded *inside* the out-of-process frame
    assert responses(records, "/frame-pixel.png")[0]["payload"].startswith(b"\x89PNG")
    assert responses(records, "/frame-data.json")
    assert "Parent page" in (result.path / "dom.html").read_text()


def test_infinite_feed_scrolls_to_the_end(engine, web):
    result = engine.capture(f"{web.main}/feed")
    records = check_warc(result)
    pages = {r["uri"] for r in responses(records, "/api/feed")}
    assert any("page=5" in u for u in pages), pages
    dom = (result.path / "dom.html").read_text()
    assert "Feed item 5-10" in dom
    full = Image.open(result.path / "screenshot-full.png")
    assert full.size[1] > 900 * 3
    # lazy images of late items were fetched
    assert responses(records, "/media/feed-5-")
    prov = provenance(result)
    scroll = next(s for s in prov["steps"] if s["name"] == "scroll")
    assert scroll["outcome"] == "ok" and "bottom" in scroll["detail"]


def test_404_is_a_complete_capture_of_a_404(engine, web):
    result = engine.capture(f"{web.main}/notfound")
    records = check_warc(result)
    assert responses(records, "/notfound")[0]["status"] == 404
    prov = provenance(result)
    assert prov["http_status"] == 404 and prov["state"] == "complete"
    assert any("404" in w for w in prov["warnings"])


def test_never_ending_page_is_bounded_and_partial(engine, web):
    result = engine.capture(
        f"{web.main}/never",
        limits={"capture_timeout": 12.0, "network_idle_timeout": 2.0, "scroll_timeout": 2.0},
    )
    records = check_warc(result)
    prov = provenance(result)
    assert prov["state"] == "partial"
    assert "network_idle_timeout" in {h["limit"] for h in prov["limits_hit"]}
    hang = responses(records, "/hang")
    assert hang and hang[0]["warc"]["WARC-Truncated"] == "time"
    assert any("/hang" in w and "still arriving" in w for w in prov["warnings"])
    assert prov["warc"]["incomplete_bodies"] >= 1
    assert {a["kind"] for a in prov["attachments"]} >= {"screenshot-viewport", "dom"}
    assert b"Never finishes" in responses(records, "/never")[0]["payload"]


def test_hostile_page_dialogs_popups_download(engine, web):
    result = engine.capture(f"{web.main}/hostile")
    records = check_warc(result)
    prov = provenance(result)
    assert prov["state"] in ("complete", "partial")
    types = [d["type"] for d in prov["dialogs"]]
    assert types.count("alert") >= 3 and "confirm" in types
    assert any(p["url"].endswith("/popup") for p in prov["popups"])
    assert responses(records, "/popup")  # the popup's load was recorded before closing
    download = responses(records, "/download/report.bin")
    assert download, "the forced download must be recorded as an exchange"
    assert len(download[0]["payload"]) == 64 * 1024
    assert prov["downloads"] and prov["downloads"][0]["recorded"] is True
    # never saved outside the capture folder
    assert not any(p.name == "report.bin" for p in result.path.rglob("*"))


def test_https_certificate_chain_in_provenance(engine, web):
    result = engine.capture(f"{web.https}/", browser={"ignore_https_errors": True})
    records = check_warc(result)
    assert b"Secure page" in responses(records, web.https)[0]["payload"]
    prov = provenance(result)
    tls = prov["tls"][0]
    assert tls["origin"] == web.https
    assert tls["protocol"].startswith("TLS")
    assert tls["cipher"]
    chain = tls["certificate_chain_pem"]
    assert chain[0].strip() == web.certs.cert_pem.decode().strip()
    assert web.certs.ca_cert_pem.decode().strip() in "".join(chain)
    page = responses(records, web.https)[0]
    protocols = [v for k, v in page["warc_list"] if k == "WARC-Protocol"]
    assert any(v.startswith("tls") for v in protocols), protocols


def test_tls_error_fails_with_reason(engine, web):
    result = engine.capture(f"{web.https}/")
    prov = provenance(result)
    assert prov["state"] == "failed"
    assert "certificate" in prov["failure"].lower() and "ERR_CERT" in prov["failure"]
    check_warc(result)


def test_unresolvable_host_fails(engine):
    result = engine.capture("http://nosuch.test/post/1")
    prov = provenance(result)
    assert prov["state"] == "failed"
    assert "ERR_NAME_NOT_RESOLVED" in prov["failure"]
    check_warc(result)


def test_refused_connection_fails(engine, free_port):
    result = engine.capture(f"http://127.0.0.1:{free_port}/")
    prov = provenance(result)
    assert prov["state"] == "failed" and "ERR_CONNECTION_REFUSED" in prov["failure"]


def test_size_limits_truncate_and_mark(engine, web):
    result = engine.capture(
        f"{web.main}/big?size=3000000", limits={"max_response_bytes": 1_000_000}
    )
    records = check_warc(result)
    big = responses(records, "/big.bin")[0]
    assert big["warc"]["WARC-Truncated"] == "length"
    assert len(big["payload"]) <= 1_000_000
    prov = provenance(result)
    assert prov["state"] == "partial"
    assert any("max_response_bytes" in h["limit"] for h in prov["limits_hit"])


def test_body_near_the_limit_is_kept_whole(web, tmp_path):
    """Chromium counts buffered bodies in base64: with a 5 MB limit set when the browser
    starts, a 4 MB body (5.3 MB in base64) must still be recorded whole."""
    small = EngineThread(make_settings(tmp_path / "out", max_response_bytes=5_000_000))
    try:
        result = small.capture(f"{web.main}/big?size=4000000")
    finally:
        small.close()
    records = check_warc(result)
    big = responses(records, "/big.bin")[0]
    assert len(big["payload"]) == 4_000_000 and "WARC-Truncated" not in big["warc"]
    assert provenance(result)["state"] == "complete"


def test_total_bytes_limit(engine, web):
    result = engine.capture(f"{web.main}/post/1", limits={"max_total_bytes": 20_000})
    check_warc(result)
    prov = provenance(result)
    assert prov["warc"]["bytes_recorded"] <= 20_000
    assert prov["state"] == "partial"


@pytest.mark.parametrize("path", ["/dom-bomb", "/dom-bomb-disguised"])
def test_dom_bomb_bounded(engine, web, path):
    """Also when the page lies about its size to scripts in its own world: the guard counts
    in ours (capture/isolated.py)."""
    result = engine.capture(f"{web.main}{path}", limits={"max_dom_nodes": 50_000})
    prov = provenance(result)
    assert "max_dom_nodes" in {h["limit"] for h in prov["limits_hit"]}
    kinds = {a["kind"] for a in prov["attachments"]}
    assert "screenshot-viewport" in kinds and "dom" in kinds
    assert "screenshot-full" not in kinds and "pdf" not in kinds
    check_warc(result)


def test_service_worker_fetches_recorded(engine, web):
    # service workers need a secure context: 127.0.0.1 is one, http://social.test is not
    result = engine.capture(f"http://127.0.0.1:{web.main_port}/sw")
    records = check_warc(result)
    assert responses(records, "/sw.js")
    data = responses(records, "/sw-data.json")
    assert data, [r["uri"] for r in records if r["type"] == "response"]
    assert "Served through worker" in (result.path / "dom.html").read_text()


def test_warcinfo_lists_options_json(post):
    info = warc_records(post.path / "archive.warc.gz")[0]["payload"].decode()
    options = json.loads(info.split("options: ", 1)[1].strip())
    assert options["limits"]["capture_timeout"] > 0
