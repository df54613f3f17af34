"""Cost of capturing a social-media post with everything issue 5 adds (behaviours, post
screenshot, reading the post, archiving its media) versus a bare Playwright load of the
same page, both with a browser already running (the per-capture cost a batch pays).

Pages: the platform fixtures of the test suite (tests/fixtures/platforms/), written in the
platforms' own markup and served on 127.0.0.1 under their own host names.

  A  archiver: CaptureCase.capture(url) — capture, WARC, screenshots, PDF, DOM, behaviours,
     post.png, post.json, media/, seal (no TSA)
  B  Playwright: new context, goto(networkidle), full-page screenshot, close

Usage:  .venv/bin/python benchmarks/platforms.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fixtures.platform_web import PlatformWeb, host_rules  # noqa: E402
from playwright.async_api import async_playwright  # noqa: E402

from archiver.config import load_settings  # noqa: E402
from archiver.pipeline import CaptureCase  # noqa: E402

PAGES = [
    ("x", "x.com", "/NASA/status/1790777283179483136"),
    ("x video", "x.com", "/NASA/status/1797266920043470848"),
    ("mastodon", "social.example-instance.org", "/@alice/113512345678901234"),
    ("bluesky", "bsky.app", "/profile/rivermonitor.bsky.social/post/3lbq7xkvu2c2a"),
    ("telegram", "t.me", "/s/kabarpesisir/123"),
    ("instagram", "www.instagram.com", "/p/C4FqZ2bL8xN/"),
    ("tiktok", "www.tiktok.com", "/@nasa.earth/video/7341301699830336789"),
    ("reddit", "www.reddit.com", "/r/FloodWatch/comments/1gvx3k9/riverside_gauge_hits_42_m_footbridge_under_water/"),
    ("youtube", "www.youtube.com", "/watch?v=Xk3bR9dPq2A"),
    ("threads", "www.threads.com", "/@nasa/post/C8wQx2LsN4k"),
]
RULES = f"--host-resolver-rules={host_rules()}"
POST_STEPS = ("behaviours", "network-idle-after-behaviours", "post-screenshot", "read-post", "post-media",
              "network-idle-after-post-media")


async def bare(browser, url: str, out: Path) -> float:
    t0 = time.perf_counter()
    context = await browser.new_context(viewport={"width": 1600, "height": 900})
    page = await context.new_page()
    await page.goto(url, wait_until="networkidle")
    await page.screenshot(path=str(out), full_page=True)
    await context.close()
    return time.perf_counter() - t0


async def main_async(runs: int) -> None:
    with PlatformWeb() as web, tempfile.TemporaryDirectory(prefix="bench-platforms-") as tmp:
        settings = load_settings(overrides={
            "output_dir": Path(tmp) / "captures",
            "network": {"allow_private": True},
            "browser": {"extra_args": [RULES]},
            "identity": {"key_path": Path(tmp) / "station.pem"},
            "timestamp": {"enabled": False},
            "platforms": {"yt_dlp": False},
        }, environ={})
        rows = []
        async with CaptureCase(settings, "bench") as run, async_playwright() as pw:
            chromium = run.engine.launched.executable
            browser = await pw.chromium.launch(executable_path=chromium, args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", RULES])
            for label, host, path in PAGES:
                url = web.url(host, path)
                await run.capture(url)  # warm-up, untimed
                await bare(browser, url, Path(tmp) / "warm.png")
                a_times, b_times, post_ms = [], [], []
                found = ""
                for i in range(runs):
                    order = "AB" if i % 2 == 0 else "BA"
                    for side in order:
                        if side == "A":
                            t0 = time.perf_counter()
                            done = await run.capture(url)
                            a_times.append(time.perf_counter() - t0)
                            prov = done.provenance
                            post_ms.append(sum(s.duration_ms for s in prov.steps if s.name in POST_STEPS))
                            post = json.loads((done.path / "post.json").read_text()) if (done.path / "post.json").exists() else None
                            found = f"{prov.post.extractor if prov.post else '-'}, {len(post['media']) if post else 0} media"
                        else:
                            b_times.append(await bare(browser, url, Path(tmp) / f"b{i}.png"))
                a, b = statistics.median(a_times), statistics.median(b_times)
                rows.append((label, a, b, statistics.median(post_ms) / 1000, found))
            await browser.close()
    print(f"{runs} runs per page, alternating order, browsers warm, medians\n")
    print(f"{'page':12}{'archiver':>10}{'bare':>8}{'ratio':>8}{'post steps':>12}  read")
    for label, a, b, p, found in rows:
        print(f"{label:12}{a:>9.2f}s{b:>7.2f}s{a / b:>7.2f}x{p:>11.2f}s  {found}")
    total_a = sum(r[1] for r in rows)
    total_b = sum(r[2] for r in rows)
    total_p = sum(r[3] for r in rows)
    print(f"{'all':12}{total_a:>9.2f}s{total_b:>7.2f}s{total_a / total_b:>7.2f}x{total_p:>11.2f}s"
          f"  (post steps = {100 * total_p / total_a:.0f}% of the archiver's time)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main_async(args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
