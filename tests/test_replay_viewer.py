"""`archiver replay`: a capture of the post, served by our ReplayServer, replayed by
ReplayWeb.page (the project's own copy, no CDN) in a real Chromium, on 127.0.0.1 only.

ReplayWeb.page nests the replay: our page -> <replay-web-page> (shadow DOM) -> an iframe
at /replay/?source=... (the viewer app, its service worker in control) -> shadow DOM ->
the replay iframe at /replay/w/<collection>/<ts>mp_/<archived URL>. Playwright lists
every frame in `page.frames`, so the archived page is found by its URL.

When the WACZ export exists the capture is replayed from a signed WACZ, and the test checks
that ReplayWeb.page verified its signature. The viewer checks `signedData` of
datapackage-digest.json with WebCrypto and keeps the result in the collection's IndexedDB
store `verification` (row `signature`: `matched` is the verify() result; rows `publicKey`
and `datapackageHash` are what it checked). Its archive info panel (<rwp-embed-receipt>,
shown with embed="replay-with-info") displays the observer public key and package hash;
its "N hashes verified" line counts the signature row whether it matched or not (wabac.js
getVerifyInfo), so the panel alone cannot tell a good signature from a bad one: the test
reads the stored verify() result too.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from helpers import CHROMIUM
from playwright.sync_api import Frame, Page, sync_playwright

import archiver
from archiver.replay.server import ReplayServer, prepare_source, viewer_dir
from archiver.seal.identity import StationIdentity

POST_TEXT = "Pejabat terlihat off-road di hari kerja"
REPLY_TEXT = "Ini jam kerja, bukan?"
WACZ_EXPORT = Path(archiver.__file__).parent / "package" / "wacz.py"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Every collection database of the viewer's service worker ("db:<collection>") with its
# verification rows: [{id, expected, matched}].
READ_VERIFICATION = """async () => {
  const request = (r) => new Promise((ok, ko) => { r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
  const found = [];
  for (const info of await indexedDB.databases()) {
    if (!info.name || !info.name.startsWith('db:')) continue;
    const db = await request(indexedDB.open(info.name));
    try {
      if (!db.objectStoreNames.contains('verification')) continue;
      found.push({name: info.name, rows: await request(db.transaction('verification').objectStore('verification').getAll())});
    } finally { db.close(); }
  }
  return found;
}"""


def wait_for_frame(page: Page, match, timeout: float = 30.0) -> Frame:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in page.frames:
            if match(frame.url):
                return frame
        page.wait_for_timeout(200)  # lets Playwright deliver frame events (never time.sleep)
    raise AssertionError(f"no such frame after {timeout}s; frames: {[f.url for f in page.frames]}")


def wait_for_verification(page: Page, timeout: float = 20.0) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for db in page.evaluate(READ_VERIFICATION):
            rows = {row["id"]: row for row in db["rows"]}
            if "signature" in rows:
                return rows
        page.wait_for_timeout(250)
    raise AssertionError(f"ReplayWeb.page stored no signature check after {timeout}s")


@pytest.mark.slow
def test_replaywebpage_replays_post_from_our_server(engine, web, tmp_path):
    viewer = viewer_dir()
    if viewer is None:
        pytest.skip("ReplayWeb.page is not installed (scripts/bootstrap.sh installs it into .cache/replaywebpage/ when npm is available)")
    post_url = f"{web.main}/post/1"
    result = engine.capture(post_url)
    wacz_expected = WACZ_EXPORT.is_file()
    source = prepare_source(result.path, tmp_path, key_path=engine.settings.identity.key_path)
    assert source.url == post_url and source.ts and len(source.ts) == 14
    if wacz_expected:
        assert source.is_wacz and source.signed, source.note
    else:
        assert source.archive.name == "archive.warc.gz"

    with ReplayServer(source, viewer) as server, sync_playwright() as pw:
        origin = ("127.0.0.1", server.port)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            context = browser.new_context()
            requests: list[str] = []
            served: dict[str, int] = {}
            context.on("request", lambda r: requests.append(r.url))  # page, frames and service worker
            context.on("response", lambda r: served.__setitem__(r.url, r.status))
            page = context.new_page()
            page.goto(server.url, wait_until="load")

            # the archived post, inside the viewer's replay frame
            replay = wait_for_frame(page, lambda u: "/replay/w/" in u and u.endswith(f"mp_/{post_url}"))
            replay.wait_for_selector(f"text={REPLY_TEXT}", timeout=20000)  # fetched by script
            assert POST_TEXT in replay.inner_text("body")
            # the photos the post's script inserted after load, served from the archive
            replay.wait_for_function(
                "() => { const imgs = [...document.querySelectorAll('img[src*=\"/media/photo\"]')];"
                " return imgs.length >= 2 && imgs.every(i => i.complete && i.naturalWidth > 0); }",
                timeout=20000,
            )
            photo_loads = {u: s for u, s in served.items() if "/media/photo" in u}
            assert photo_loads and all(
                u.startswith(f"{server.url}replay/w/") and s == 200 for u, s in photo_loads.items()
            ), photo_loads

            if wacz_expected:
                check_signature(page, source.archive, engine.settings.identity.key_path)

            outside = [u for u in requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")
                       and (urlsplit(u).hostname, urlsplit(u).port) != origin]
            assert not outside, f"requests left 127.0.0.1:{server.port}: {outside}"
            assert f"{server.url}ui.js" in requests and f"{server.url}{source.served_path[1:]}" in requests
        finally:
            browser.close()


def check_signature(page: Page, wacz: Path, key_path: Path) -> None:
    """ReplayWeb.page verified the WACZ's signature with our station's public key."""
    with zipfile.ZipFile(wacz) as zf:
        package_hash = "sha256:" + hashlib.sha256(zf.read("datapackage.json")).hexdigest()
        signed = json.loads(zf.read("datapackage-digest.json"))["signedData"]
    station = StationIdentity.load_or_create(key_path)
    spki = station.public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    station_key = base64.b64encode(spki).decode()
    assert signed["publicKey"] == station_key and signed["hash"] == package_hash

    rows = wait_for_verification(page)
    assert rows["signature"]["matched"] is True, rows["signature"]  # WebCrypto verify() said yes
    assert rows["publicKey"]["expected"] == station_key
    assert rows["datapackageHash"]["expected"] == package_hash

    # what a person sees: the viewer's archive info panel names the key and the package hash
    app = wait_for_frame(page, lambda u: urlsplit(u).path == "/replay/" and "source=" in u)
    receipt = app.locator("rwp-embed-receipt")
    receipt.locator("button.embed-info").click()
    info = re.sub(r"\s+", " ", receipt.text_content() or "")
    assert f"Observer Public Key: {station_key}" in info, info
    assert f"Package Hash: {package_hash}" in info, info
    assert "hashes verified" in info, info
