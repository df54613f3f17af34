"""Replay: the WARC of the post page, in a real pywb, opened in Chromium."""

from __future__ import annotations

import pytest
from fixtures.pywb import PywbReplay
from helpers import launch_viewer
from playwright.sync_api import sync_playwright

POST_TEXT = "Pejabat terlihat off-road di hari kerja"
REPLY_TEXT = "Ini jam kerja, bukan?"


@pytest.mark.slow
def test_pywb_replays_post_with_script_inserted_images(engine, web, tmp_path):
    result = engine.capture(f"{web.main}/post/1")
    # the case dedups: payloads seen in earlier captures are revisits pointing into their
    # WARCs, so replay the case's WARCs together, as a user replaying the case would
    warcs = sorted(result.path.parent.glob("*/archive.warc.gz"))
    with PywbReplay(warcs, tmp_path / "pywb") as replay, sync_playwright() as pw:
        browser = launch_viewer(pw)
        try:
            page = browser.new_page()
            live_requests: list[str] = []
            page.on("request", lambda r: None if r.url.startswith(replay.base.rsplit("/", 2)[0]) else live_requests.append(r.url))
            page.goto(replay.replay_url(f"{web.main}/post/1"), wait_until="load")
            page.wait_for_selector(f"text={REPLY_TEXT}", timeout=15000)
            assert POST_TEXT in page.inner_text("body")
            # the images the page's script inserted after load, served from the archive
            page.wait_for_function(
                "() => [...document.querySelectorAll('img[src*=\"/media/photo\"]')]"
                ".filter(i => i.complete && i.naturalWidth > 0).length >= 2",
                timeout=15000,
            )
            sources = page.eval_on_selector_all(
                "img[src*='/media/photo']", "els => els.map(e => e.currentSrc)"
            )
            assert sources and all(replay.base in s for s in sources), sources
            assert not live_requests, f"replay reached outside the archive: {live_requests}"
        finally:
            browser.close()
