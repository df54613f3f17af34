"""Replay: the WARC of the post page, in a real pywb, opened in Chromium."""

from __future__ import annotations

import pytest
from fixtures.pywb import PywbReplay
from helpers import assert_post_replayed
from playwright.sync_api import sync_playwright



@pytest.mark.slow
def test_pywb_replays_post_with_script_inserted_images(engine, web, tmp_path):
    result = engine.capture(f"{web.main}/post/1")
    # the case dedups: payloads seen in earlier captures are revisits pointing into their
    # WARCs, so replay the case's WARCs together, as a user replaying the case would
    warcs = sorted(result.path.parent.glob("*/archive.warc.gz"))
    with PywbReplay(warcs, tmp_path / "pywb") as replay, sync_playwright() as pw:
        assert_post_replayed(pw, replay, f"{web.main}/post/1")
