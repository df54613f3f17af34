"""Disk saved by payload dedup when the same post is captured again and again.

A social post page reloads the same big assets on every visit: the app bundle, the
photos, the avatar. Only a small API reply changes. With dedup on, the second and later
captures of a case store those payloads as `revisit` records instead of copies.

The site (127.0.0.1): the bundled demo post (`archiver.demo.server.DemoServer`, whose own
assets are small, about 60 KB) plus, on `/post/heavy`, a ~1 MiB "app bundle" script, three
~100 KiB photos (identical on every request) and a small JSON reply that differs on every
request. The page is captured N times into a case with dedup on, then N times into a case
with `dedup.enabled=false`, in-process (`CaptureCase`, one browser per case). Then the
dedup case is verified (`verify_path`): it must have no FAIL (PENDING is expected,
timestamps are off), so every revisit resolves to an original in the case.

Usage:  .venv/bin/python benchmarks/dedup.py [--captures N] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image

from archiver.config import Settings, load_settings
from archiver.demo.server import DemoHandler, DemoServer, render_post
from archiver.errors import UserError
from archiver.pipeline import CaptureCase
from archiver.verify.report import Status
from archiver.verify.run import verify_path

HEAVY_PATH = "/post/heavy"
BUNDLE_BYTES = 1024 * 1024  # the "app bundle" script
PHOTOS = 3  # identical on every request; each a noise PNG of about 100 KiB
PHOTO_SIZE = (192, 176)  # 192 * 176 * 3 bytes of noise, PNG cannot shrink it


class BenchError(RuntimeError):
    """A run did not produce what it should; the benchmark stops."""


# ---- the site ----------------------------------------------------------------------------

@lru_cache(maxsize=1)
def app_bundle() -> bytes:
    """~1 MiB of valid JavaScript, the same bytes on every request. Its bulk is a base64
    string of pseudo-random bytes (like inlined data, fonts or wasm in a real bundle), so
    the WARC's gzip shrinks it by only about a quarter: no help from compression."""
    blob = base64.b64encode(random.Random("bundle").randbytes(BUNDLE_BYTES * 3 // 4)).decode()
    return (
        "/* app bundle v1 (benchmark) */\n"
        f'window.__bundle = {{version: 1, data: "{blob}"}};\n'
        "document.documentElement.dataset.bundle = 'loaded';\n"
    ).encode()


@lru_cache(maxsize=PHOTOS)
def photo_png(index: int) -> bytes:
    pixels = random.Random(f"photo-{index}").randbytes(PHOTO_SIZE[0] * PHOTO_SIZE[1] * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", PHOTO_SIZE, pixels).save(out, format="PNG")
    return out.getvalue()


HEAVY_EXTRA = """
<section id="bench-heavy">
  {images}
  <p id="bench-live">loading live data</p>
</section>
<script src="/bench/app-bundle.js"></script>
<script>
fetch('/bench/live.json', {{headers: {{Accept: 'application/json'}}}})
  .then(function (r) {{ return r.json(); }})
  .then(function (d) {{ document.getElementById('bench-live').textContent = 'live ' + d.nonce; }});
</script>
"""


class HeavyHandler(DemoHandler):
    """The demo post site plus a post page with heavy, repeated assets."""

    routes = {
        **DemoHandler.routes,
        HEAVY_PATH: "serve_heavy_post",
        "/bench/app-bundle.js": "serve_bundle",
        "/bench/live.json": "serve_live",
    }
    prefix_routes = {**DemoHandler.prefix_routes, "/bench/photo-": "serve_photo"}

    def serve_heavy_post(self) -> None:
        images = "\n  ".join(
            f'<img src="/bench/photo-{i}.png" width="{PHOTO_SIZE[0]}" height="{PHOTO_SIZE[1]}" alt="photo {i}">'
            for i in range(PHOTOS)
        )
        html = render_post(self.origin).replace("</body>", HEAVY_EXTRA.format(images=images) + "</body>", 1)
        self.send_html(html)

    def serve_bundle(self) -> None:
        self.send_body(app_bundle(), "text/javascript; charset=utf-8",
                       headers={"Cache-Control": "public, max-age=31536000, immutable"})

    def serve_photo(self) -> None:
        name = self.url_path[len("/bench/photo-"):]
        index = name.removesuffix(".png")
        if not name.endswith(".png") or not index.isdigit() or int(index) >= PHOTOS:
            self.not_found()
            return
        self.send_body(photo_png(int(index)), "image/png",
                       headers={"Cache-Control": "public, max-age=31536000, immutable"})

    def serve_live(self) -> None:
        # Different on every request, like a feed/like-count API: never deduplicated.
        self.send_json({
            "nonce": os.urandom(8).hex(),
            "time": time.time(),
            "likes": random.randrange(1000, 2000),
            "viewers": [os.urandom(12).hex() for _ in range(40)],
        })


# ---- the runs ----------------------------------------------------------------------------

@dataclass
class CaseRun:
    dedup: bool
    folder: Path | None = None
    seconds: list[float] = field(default_factory=list)  # per capture, incl. sealing
    revisits: list[int] = field(default_factory=list)  # per capture, provenance warc.revisits
    bytes_deduplicated: int = 0
    total_bytes: int = 0  # every file in the case folder
    warc_bytes: int = 0  # the WARCs alone
    files: int = 0


def make_settings(out_dir: Path, key_path: Path, dedup: bool) -> Settings:
    return load_settings(overrides={
        "output_dir": out_dir,
        "network": {"allow_private": True},
        "timestamp": {"enabled": False},
        "identity": {"key_path": key_path},
        "dedup": {"enabled": dedup},
    })


def folder_bytes(folder: Path) -> tuple[int, int, int]:
    """(sum of sizes of all files, of the WARCs alone, number of files), du-style."""
    total = warcs = count = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            size = path.stat().st_size
            total += size
            count += 1
            if path.name.endswith(".warc.gz"):
                warcs += size
    return total, warcs, count


async def capture_case(url: str, settings: Settings, case: str, captures: int, dedup: bool) -> CaseRun:
    result = CaseRun(dedup=dedup)
    async with CaptureCase(settings, case) as run:
        assert run.case is not None
        result.folder = run.case.folder
        for _ in range(captures):
            t0 = time.perf_counter()
            done = await run.capture(url)
            result.seconds.append(time.perf_counter() - t0)
            if done.state.value != "complete":
                raise BenchError(f"capture {done.path} ended in state {done.state.value}")
            prov: dict[str, Any] = json.loads((done.path / "provenance.json").read_text())
            result.revisits.append(prov["warc"]["revisits"])
            result.bytes_deduplicated += prov["warc"].get("bytes_deduplicated", 0)
    result.total_bytes, result.warc_bytes, result.files = folder_bytes(result.folder)
    return result


def verify_dedup_case(folder: Path) -> dict[str, Any]:
    report = verify_path(folder)
    counts = report.counts()
    failed = [p.model_dump() for item in report.items if item.status == Status.FAIL for p in item.problems]
    if report.case_problems or counts["FAIL"] or counts["INCOMPLETE"] or not report.passed():
        raise BenchError(
            f"verify of the dedup case failed: {counts}, case problems "
            f"{[p.model_dump() for p in report.case_problems]}, item problems {failed[:10]}"
        )
    return {"counts": counts, "warc_records": sum(item.warc_records for item in report.items),
            "manifest_events": report.manifest_events}


def measure(captures: int) -> dict[str, Any]:
    with DemoServer(handler_class=HeavyHandler, name="bench-dedup") as srv, \
            tempfile.TemporaryDirectory(prefix="bench-dedup-") as tmp:
        url = srv.url_for(HEAVY_PATH)
        key = Path(tmp) / "station-key.pem"
        runs = []
        for case, dedup in (("dedup-on", True), ("dedup-off", False)):
            settings = make_settings(Path(tmp) / "out", key, dedup)
            runs.append(asyncio.run(capture_case(url, settings, case, captures, dedup)))
        on, off = runs
        if not all(on.revisits[1:]) or any(off.revisits):
            raise BenchError(f"revisits per capture: dedup on {on.revisits}, off {off.revisits} "
                             "(want >0 after the first capture with dedup on, 0 with it off)")
        t0 = time.perf_counter()
        verified = verify_dedup_case(on.folder)
        verified["seconds"] = time.perf_counter() - t0
    return {
        "url": url,
        "captures": captures,
        "assets": {"bundle_bytes": len(app_bundle()), "photo_bytes": [len(photo_png(i)) for i in range(PHOTOS)]},
        "runs": {("dedup_on" if r.dedup else "dedup_off"): {
            "total_bytes": r.total_bytes,
            "warc_bytes": r.warc_bytes,
            "files": r.files,
            "revisits": sum(r.revisits),
            "revisits_per_capture": r.revisits,
            "bytes_deduplicated": r.bytes_deduplicated,
            "capture_s": {"median": statistics.median(r.seconds), "min": min(r.seconds),
                          "max": max(r.seconds), "all": r.seconds},
        } for r in runs},
        "ratio": on.total_bytes / off.total_bytes,
        "saved_bytes": off.total_bytes - on.total_bytes,
        "time_ratio": statistics.median(on.seconds) / statistics.median(off.seconds),
        "verify_dedup_case": verified,
    }


def mib(n: int) -> str:
    return f"{n / (1 << 20):.2f} MiB"


def print_table(s: dict[str, Any]) -> None:
    a = s["assets"]
    print(f"post {s['url']}: demo post + app bundle {a['bundle_bytes']:,} B + "
          f"{len(a['photo_bytes'])} photos {sum(a['photo_bytes']):,} B (identical every time) + live JSON (new every time)")
    print(f"{s['captures']} captures per case, one browser per case, timestamps off\n")
    print(f"{'':14}{'case bytes':>16}{'':>12}{'WARC bytes':>16}{'files':>7}{'revisits':>10}"
          f"{'median s':>10}{'min s':>8}{'max s':>8}")
    for label, key in (("dedup on", "dedup_on"), ("dedup off", "dedup_off")):
        r = s["runs"][key]
        t = r["capture_s"]
        print(f"{label:14}{r['total_bytes']:>16,}{mib(r['total_bytes']):>12}{r['warc_bytes']:>16,}{r['files']:>7}"
              f"{r['revisits']:>10}{t['median']:>10.2f}{t['min']:>8.2f}{t['max']:>8.2f}")
    on = s["runs"]["dedup_on"]
    print(f"\nrevisits per capture (dedup on): {on['revisits_per_capture']}")
    print(f"payload bytes not stored again (provenance bytes_deduplicated): {on['bytes_deduplicated']:,}")
    v = s["verify_dedup_case"]
    print(f"verify dedup case: {v['counts']} ({v['warc_records']} WARC records, "
          f"{v['manifest_events']} manifest events, {v['seconds']:.2f} s): no FAIL, every revisit resolved")
    print(f"median capture time, dedup on / off: {s['time_ratio']:.2f}x")
    print(f"\ndedup on vs off, case bytes on disk: {s['ratio']:.3f}x, saved {s['saved_bytes']:,} B "
          f"({mib(s['saved_bytes'])}, {1 - s['ratio']:.1%}) over {s['captures']} captures")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--captures", type=int, default=20, help="captures per case (default 20)")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = parser.parse_args()
    if args.captures < 2:
        parser.error("--captures must be at least 2 (the first capture has nothing to dedup against)")
    try:
        s = measure(args.captures)
    except (BenchError, UserError) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(s))
    else:
        print_table(s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
