"""Wall-clock cost of one archiver capture versus a bare Playwright screenshot.

Both sides run as whole processes against the bundled demo post (served on
127.0.0.1), so Python start-up, imports and the Chromium launch are counted on
both sides:

  A  ``archiver capture URL --allow-private --out TMP --json`` (what a user runs)
  B  ``python -c BASELINE``: launch Chromium, goto(networkidle), full-page PNG

Usage:  .venv/bin/python benchmarks/capture.py [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from archiver.demo.server import DemoServer

VENV_BIN = Path(sys.executable).parent
ARCHIVER = VENV_BIN / "archiver"
TIMEOUT_S = 120

# argv: url, chromium executable, output png
BASELINE = """
import json, sys, time
from playwright.sync_api import sync_playwright

url, chromium, out = sys.argv[1:4]
marks = {}
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=chromium, args=[
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ])
    marks["launched"] = time.time()
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    page.goto(url, wait_until="networkidle")
    marks["loaded"] = time.time()
    page.screenshot(path=out, full_page=True)
    marks["shot"] = time.time()
    browser.close()
print(json.dumps(marks))
"""

# Wall-clock phases of B, from the time marks the baseline prints.
B_PHASES = {
    "start-up, imports, browser launch": ("spawned", "launched"),
    "new page, goto(networkidle)": ("launched", "loaded"),
    "full-page screenshot": ("loaded", "shot"),
    "browser close, exit": ("shot", "exited"),
}
# Wall-clock phases of A that are not provenance steps.
BEFORE = "(before capture: start-up, imports, browser launch)"
UNSTEPPED = "(inside capture, outside named steps)"
AFTER = "(after capture: sealing, browser close, exit)"


class BenchError(RuntimeError):
    """A run did not produce what it should; the benchmark stops."""


@dataclass
class ArchiverRun:
    seconds: float
    phases_ms: dict[str, float]  # step name (or phase) -> milliseconds
    warc_records: int
    warc_bytes: int
    attachments: list[str]


@dataclass
class BaselineRun:
    seconds: float
    phases_ms: dict[str, float]


@dataclass
class Results:
    url: str
    chromium: str
    runs: int
    archiver: list[ArchiverRun] = field(default_factory=list)
    baseline: list[BaselineRun] = field(default_factory=list)


def run(cmd: list[str]) -> tuple[float, float, float, subprocess.CompletedProcess[str]]:
    """Run cmd; return (wall seconds, epoch at start, epoch at end, process)."""
    t0, wall0 = time.perf_counter(), time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    seconds = time.perf_counter() - t0
    return seconds, wall0, wall0 + seconds, proc


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def run_archiver(url: str, out_dir: Path) -> ArchiverRun:
    cmd = [str(ARCHIVER), "capture", url, "--allow-private", "--out", str(out_dir), "--json"]
    seconds, spawned, exited, proc = run(cmd)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or len(lines) != 1 or lines[0].get("state") != "complete":
        raise BenchError(f"archiver capture failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr[-3000:]}")
    folder = Path(lines[0]["path"])
    prov: dict[str, Any] = json.loads((folder / "provenance.json").read_text())

    steps: dict[str, float] = {}
    for step in prov["steps"]:
        steps[step["name"]] = steps.get(step["name"], 0.0) + step["duration_ms"]
    started, ended = epoch(prov["started"]), epoch(prov["ended"])
    phases = {
        BEFORE: (started - spawned) * 1000,
        **steps,
        UNSTEPPED: (ended - started) * 1000 - sum(steps.values()),
        AFTER: (exited - ended) * 1000,
    }
    return ArchiverRun(
        seconds=seconds,
        phases_ms=phases,
        warc_records=prov["warc"]["records"],
        warc_bytes=(folder / prov["warc"]["path"]).stat().st_size,
        attachments=[a["path"] for a in prov["attachments"]],
    )


def run_baseline(url: str, chromium: str, out_dir: Path) -> BaselineRun:
    png = out_dir / "baseline.png"
    seconds, spawned, exited, proc = run([sys.executable, "-c", BASELINE, url, chromium, str(png)])
    if proc.returncode != 0 or not png.is_file():
        raise BenchError(f"baseline failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    marks: dict[str, float] = {**json.loads(proc.stdout), "spawned": spawned, "exited": exited}
    phases = {name: (marks[end] - marks[start]) * 1000 for name, (start, end) in B_PHASES.items()}
    return BaselineRun(seconds=seconds, phases_ms=phases)


def find_chromium() -> str:
    proc = subprocess.run([str(ARCHIVER), "browser", "path"], capture_output=True, text=True, timeout=TIMEOUT_S)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise BenchError(f"`archiver browser path` failed:\n{proc.stderr}")
    return proc.stdout.strip().splitlines()[-1]


def measure(runs: int) -> Results:
    chromium = find_chromium()
    with DemoServer() as srv, tempfile.TemporaryDirectory(prefix="bench-capture-") as tmp:
        url = srv.url + "/post/1"
        results = Results(url=url, chromium=chromium, runs=runs)
        counter = 0

        def fresh_dir() -> Path:
            nonlocal counter
            counter += 1
            path = Path(tmp) / f"run{counter}"
            path.mkdir()
            return path

        run_archiver(url, fresh_dir())  # warm-up (disk cache, page cache), untimed
        run_baseline(url, chromium, fresh_dir())
        for i in range(runs):
            for side in ("AB" if i % 2 == 0 else "BA"):
                if side == "A":
                    results.archiver.append(run_archiver(url, fresh_dir()))
                else:
                    results.baseline.append(run_baseline(url, chromium, fresh_dir()))
        return results


def phase_medians(runs: list[ArchiverRun] | list[BaselineRun]) -> dict[str, float]:
    names: list[str] = []
    for run in runs:
        names += [n for n in run.phases_ms if n not in names]
    return {n: statistics.median(run.phases_ms.get(n, 0.0) for run in runs) for n in names}


def summary(r: Results) -> dict[str, Any]:
    a = [run.seconds for run in r.archiver]
    b = [run.seconds for run in r.baseline]
    last = r.archiver[-1]
    return {
        "url": r.url,
        "chromium": r.chromium,
        "runs": r.runs,
        "archiver_s": {"median": statistics.median(a), "min": min(a), "max": max(a), "all": a},
        "baseline_s": {"median": statistics.median(b), "min": min(b), "max": max(b), "all": b},
        "ratio": statistics.median(a) / statistics.median(b),
        "archiver_extra": {
            "warc_records": last.warc_records,
            "warc_bytes": last.warc_bytes,
            "attachments": last.attachments,
        },
        "archiver_phase_median_ms": phase_medians(r.archiver),
        "baseline_phase_median_ms": phase_medians(r.baseline),
    }


def print_table(s: dict[str, Any]) -> None:
    print(f"demo post {s['url']}  chromium {s['chromium']}")
    print(f"{s['runs']} runs each, alternating order, after one untimed warm-up each\n")
    print(f"{'':28}{'median':>8}{'min':>8}{'max':>8}")
    for label, key in (("A archiver capture", "archiver_s"), ("B bare playwright", "baseline_s")):
        t = s[key]
        print(f"{label:28}{t['median']:>7.2f}s{t['min']:>7.2f}s{t['max']:>7.2f}s")
    extra = s["archiver_extra"]
    print(
        f"\nA also wrote: {extra['warc_records']} WARC records, archive.warc.gz "
        f"{extra['warc_bytes']:,} bytes, attachments: {', '.join(extra['attachments'])}"
    )
    print("\nA where the time goes (median ms per run; steps from provenance.json):")
    for name, ms in s["archiver_phase_median_ms"].items():
        print(f"  {name:54}{ms:>7.0f}")
    print("\nB where the time goes (median ms per run):")
    for name, ms in s["baseline_phase_median_ms"].items():
        print(f"  {name:54}{ms:>7.0f}")
    print(
        f"\ncapture vs bare playwright: {s['ratio']:.2f}x (archiver {s['archiver_s']['median']:.2f} s, "
        f"baseline {s['baseline_s']['median']:.2f} s, {s['runs']} runs)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each side (default 5)")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    try:
        s = summary(measure(args.runs))
    except (BenchError, subprocess.TimeoutExpired) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(s))
    else:
        print_table(s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
