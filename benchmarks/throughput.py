"""Captures per minute of ``archiver capture --from-file`` at several concurrency levels,
versus a bare Playwright loop over the same URLs with the same parallelism.

The bundled demo post is served on 127.0.0.1; N distinct URLs (``/post/1?n=i``) are
captured at each level, in one run, by two **whole processes**:

  A  ``archiver capture --from-file urls.txt --case bench-cN --concurrency N
     --no-timestamp --json`` with a config file that allows 127.0.0.1 and turns off the
     per-host politeness (``per_host = N``, ``host_delay = 0``, ``retries = 0``)
  B  ``python -c BASELINE``: one Chromium, N pages in parallel, each in a new context:
     goto(networkidle), full-page PNG, close the context

Peak memory of each process tree (the process, Playwright's driver, Chromium and its
helpers) is sampled from /proc every 0.2 s, with the CPU time of the whole machine and
of processes outside the tree (so a run disturbed by other work is flagged).

Usage:  .venv/bin/python benchmarks/throughput.py [--urls 50] [--levels 1,2,4] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
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
SAMPLE_S = 0.2
PSS_EVERY = 5  # PSS once a second
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
OTHER_WARNING = 0.1  # cores used by other processes above which a run is flagged
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024

CONFIG = """\
[network]
allow_private = true

[jobs]
per_host = {n}
host_delay = 0.0
retries = 0
"""

# argv: urls file, chromium executable, output dir, concurrency.
# Prints one JSON object: time marks and one entry per capture.
BASELINE = """
import asyncio, json, sys, time
from playwright.async_api import async_playwright

urls_file, chromium, out, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
urls = [line.strip() for line in open(urls_file) if line.strip()]
todo = list(enumerate(urls))
marks, captures = {}, []

async def worker(browser):
    while todo:
        i, url = todo.pop(0)
        t0 = time.monotonic()
        context = await browser.new_context(viewport={"width": 1600, "height": 900})
        page = await context.new_page()
        t1 = time.monotonic()
        await page.goto(url, wait_until="networkidle")
        t2 = time.monotonic()
        await page.screenshot(path=f"{out}/{i}.png", full_page=True)
        t3 = time.monotonic()
        await context.close()
        t4 = time.monotonic()
        captures.append({"seconds": t4 - t0, "phases": {
            "new context + page": t1 - t0, "goto(networkidle)": t2 - t1,
            "full-page screenshot": t3 - t2, "close context": t4 - t3}})

async def main():
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
        ])
        marks["first"] = time.time()
        await asyncio.gather(*(worker(browser) for _ in range(n)))
        marks["last"] = time.time()
        await browser.close()

asyncio.run(main())
print(json.dumps({"marks": marks, "captures": captures}))
"""

# Rows of the "where the time goes" breakdown that are not provenance steps.
UNSTEPPED = "(inside capture, outside named steps)"
AFTER = "(after the steps, until the job is finished)"
AFTER_SEAL = "  of which: write WARC + provenance, hash artifacts"
AFTER_SIGN = "  of which: sign + append manifest, dedup index, job queue"


class BenchError(RuntimeError):
    """A run did not produce what it should; the benchmark stops."""


@dataclass
class Run:
    """One whole process (A or B) at one concurrency level."""

    wall_s: float
    per_capture_s: list[float]
    peak_rss_kib: int  # sum over the process tree at the worst sample
    peak_pss_kib: int  # the same with shared pages split between processes (1 s samples)
    busy_s: float  # CPU seconds of the whole machine (all cores) during the run
    other_s: float  # of which used by other processes (not this run, not this script)
    startup_s: float  # spawn -> first capture starts
    shutdown_s: float  # last capture finished -> exit
    phases_ms: list[dict[str, float]] = field(default_factory=list)  # per capture


@dataclass
class Level:
    concurrency: int
    archiver: Run
    baseline: Run


# ---- /proc sampling -------------------------------------------------------------------


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, CPU ticks used so far, user + system) for every process."""
    procs: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rindex(b")") + 2 :].split()  # comm may contain spaces
        procs[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return procs


def _descendants(pid: int, procs: dict[int, tuple[int, int]]) -> list[int]:
    children: dict[int, list[int]] = {}
    for child, (parent, _) in procs.items():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


class OtherCPU:
    """CPU used during a run by user-space processes that are neither the run's process
    tree nor this script (the demo server), so a busy machine is seen in the output.
    Kernel threads are left out (they also do this run's disk writes)."""

    def __init__(self) -> None:
        self.first = {pid: ticks for pid, (_, ticks) in _processes().items()}
        self.last: dict[int, int] = {}
        self.mine: set[int] = {os.getpid()}

    def sample(self, procs: dict[int, tuple[int, int]], tree: list[int]) -> None:
        self.mine.update(tree)
        for pid, (parent, ticks) in procs.items():
            if pid not in self.mine and pid != 2 and parent != 2:  # 2 = kthreadd
                self.last[pid] = ticks

    def seconds(self) -> float:
        ticks = sum(t - self.first.get(pid, 0) for pid, t in self.last.items() if pid not in self.mine)
        return max(0, ticks) / CLOCK_TICKS


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE_KIB
    except (OSError, ValueError, IndexError):
        return 0  # gone meanwhile


def _pss_kib(pid: int) -> int:
    """Proportional set size: shared pages divided between the processes that map them.
    Reading smaps_rollup walks the page tables (a few ms per Chromium process), so it is
    read only every PSS_EVERY-th sample."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _busy_seconds() -> float:
    """CPU seconds the whole machine has spent not idle since boot (all cores)."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


@dataclass
class Sampled:
    wall_s: float
    spawned: float  # epoch
    exited: float  # epoch
    peak_rss_kib: int
    peak_pss_kib: int
    busy_s: float
    other_s: float


def run_sampled(cmd: list[str], env: dict[str, str], stdout: Path, timeout: float) -> Sampled:
    """Run cmd with stdout to a file, sampling the memory of its process tree."""
    peak_rss = peak_pss = 0
    other = OtherCPU()
    with open(stdout, "wb") as out, tempfile.TemporaryFile() as err:
        busy0 = _busy_seconds()
        t0, spawned = time.perf_counter(), time.time()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, stdin=subprocess.DEVNULL)
        try:
            samples = 0
            while proc.poll() is None:
                if time.perf_counter() - t0 > timeout:
                    raise BenchError(f"timed out after {timeout:.0f}s: {' '.join(cmd[:3])} ...")
                procs = _processes()
                pids = _descendants(proc.pid, procs)
                other.sample(procs, pids)
                peak_rss = max(peak_rss, sum(_rss_kib(pid) for pid in pids))
                if samples % PSS_EVERY == 0:
                    peak_pss = max(peak_pss, sum(_pss_kib(pid) for pid in pids))
                samples += 1
                time.sleep(SAMPLE_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        wall = time.perf_counter() - t0
        busy = _busy_seconds() - busy0
        other.sample(_processes(), [])
        err.seek(0)
        tail = err.read().decode(errors="replace")[-3000:]
    if proc.returncode != 0:
        raise BenchError(f"exit {proc.returncode}: {' '.join(cmd[:3])} ...\n{stdout.read_text()[-2000:]}{tail}")
    return Sampled(wall, spawned, spawned + wall, peak_rss, peak_pss, busy, other.seconds())


# ---- the two sides --------------------------------------------------------------------


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def run_archiver(urls_file: Path, n_urls: int, n: int, tmp: Path, case: str) -> Run:
    config = tmp / f"{case}.toml"
    config.write_text(CONFIG.format(n=n))
    out = tmp / "out"
    cmd = [
        str(ARCHIVER), "capture", "--from-file", str(urls_file), "--case", case, "--out", str(out),
        "--concurrency", str(n), "--no-timestamp", "--json", "--config", str(config),
    ]
    env = {**os.environ, "ARCHIVER_IDENTITY__KEY_PATH": str(tmp / "station-key.pem")}
    stdout = tmp / f"{case}.out"
    ran = run_sampled(cmd, env, stdout, timeout_for(n_urls, n))
    lines = [json.loads(line) for line in stdout.read_text().splitlines() if line.startswith("{")]
    bad = [line for line in lines if line.get("state") != "complete"]
    if len(lines) != n_urls or bad:
        raise BenchError(f"{case}: {len(lines)} results for {n_urls} URLs, not complete: {bad[:3]}")

    case_dir = out / case
    sealed_at = {}  # capture folder -> epoch of its capture-sealed event
    for raw in (case_dir / "manifest.jsonl").read_text().splitlines():
        event = json.loads(raw)
        if event.get("type") == "capture-sealed":
            sealed_at[event["subject"]["path"]] = epoch(event["time"])
    finished = {}  # capture folder -> epoch at which the job was marked finished
    db = sqlite3.connect(case_dir / "jobs.sqlite")
    try:
        for capture, when in db.execute("SELECT capture, finished FROM jobs"):
            finished[capture] = when
    finally:
        db.close()

    phases, starts = [], []
    for line in lines:
        folder = Path(line["path"])
        prov = json.loads((folder / "provenance.json").read_text())
        started, ended = epoch(prov["started"]), epoch(prov["ended"])
        starts.append(started)
        steps: dict[str, float] = {}
        for step in prov["steps"]:
            steps[step["name"]] = steps.get(step["name"], 0.0) + step["duration_ms"]
        inside_ms = (ended - started) * 1000
        seal_event = sealed_at.get(folder.name)
        done = finished.get(folder.name)
        row = {
            **steps,
            UNSTEPPED: inside_ms - sum(steps.values()),
            AFTER: line["seconds"] * 1000 - inside_ms,
        }
        if seal_event is not None and done is not None:
            row[AFTER_SEAL] = (seal_event - ended) * 1000
            row[AFTER_SIGN] = (done - seal_event) * 1000
        phases.append(row)
    return Run(
        wall_s=ran.wall_s,
        per_capture_s=[line["seconds"] for line in lines],
        peak_rss_kib=ran.peak_rss_kib,
        peak_pss_kib=ran.peak_pss_kib,
        busy_s=ran.busy_s,
        other_s=ran.other_s,
        startup_s=min(starts) - ran.spawned,
        shutdown_s=ran.exited - max(finished.values()),
        phases_ms=phases,
    )


def run_baseline(urls_file: Path, n_urls: int, n: int, chromium: str, tmp: Path, name: str) -> Run:
    shots = tmp / name
    shots.mkdir()
    cmd = [sys.executable, "-c", BASELINE, str(urls_file), chromium, str(shots), str(n)]
    stdout = tmp / f"{name}.out"
    ran = run_sampled(cmd, dict(os.environ), stdout, timeout_for(n_urls, n))
    result = json.loads(stdout.read_text())
    pngs = list(shots.glob("*.png"))
    if len(result["captures"]) != n_urls or len(pngs) != n_urls:
        raise BenchError(f"{name}: {len(pngs)} screenshots for {n_urls} URLs")
    return Run(
        wall_s=ran.wall_s,
        per_capture_s=[c["seconds"] for c in result["captures"]],
        peak_rss_kib=ran.peak_rss_kib,
        peak_pss_kib=ran.peak_pss_kib,
        busy_s=ran.busy_s,
        other_s=ran.other_s,
        startup_s=result["marks"]["first"] - ran.spawned,
        shutdown_s=ran.exited - result["marks"]["last"],
        phases_ms=[{k: v * 1000 for k, v in c["phases"].items()} for c in result["captures"]],
    )


def timeout_for(n_urls: int, n: int) -> float:
    return 120 + 30 * n_urls / n


def find_chromium() -> str:
    proc = subprocess.run([str(ARCHIVER), "browser", "path"], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise BenchError(f"`archiver browser path` failed:\n{proc.stderr}")
    return proc.stdout.strip().splitlines()[-1]


def measure(n_urls: int, levels: list[int]) -> tuple[str, str, list[Level]]:
    chromium = find_chromium()
    with DemoServer() as srv, tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp_name:
        tmp = Path(tmp_name)
        urls_file = tmp / "urls.txt"
        urls_file.write_text("".join(f"{srv.post_url}?n={i}\n" for i in range(n_urls)))
        # Untimed warm-up, one URL each: disk cache for Chromium and the Python imports,
        # and the station key is created here, not in the first timed run.
        warm = tmp / "warm.txt"
        warm.write_text(f"{srv.post_url}?warm-up\n")
        run_archiver(warm, 1, 1, tmp, "bench-warm-up")
        run_baseline(warm, 1, 1, chromium, tmp, "bare-warm-up")

        results = []
        for i, n in enumerate(levels):
            runs: dict[str, Run] = {}
            for side in ("AB" if i % 2 == 0 else "BA"):  # neither side always runs first
                if side == "A":
                    runs[side] = run_archiver(urls_file, n_urls, n, tmp, f"bench-c{n}")
                else:
                    runs[side] = run_baseline(urls_file, n_urls, n, chromium, tmp, f"bare-c{n}")
            results.append(Level(n, runs["A"], runs["B"]))
        return srv.post_url, chromium, results


# ---- output ---------------------------------------------------------------------------


def per_min(n_urls: int, run: Run) -> float:
    return n_urls / run.wall_s * 60


def phase_medians(phases: list[dict[str, float]]) -> dict[str, float]:
    names: list[str] = []
    for row in phases:
        names += [name for name in row if name not in names]
    return {name: statistics.median(row.get(name, 0.0) for row in phases) for name in names}


def run_summary(n_urls: int, run: Run) -> dict[str, Any]:
    return {
        "wall_s": run.wall_s,
        "captures_per_min": per_min(n_urls, run),
        "median_capture_s": statistics.median(run.per_capture_s),
        "peak_rss_mib": run.peak_rss_kib / 1024,
        "peak_pss_mib": run.peak_pss_kib / 1024,
        "busy_cores": run.busy_s / run.wall_s,
        "other_cores": run.other_s / run.wall_s,
        "cpu_per_capture_s": max(0.0, run.busy_s - run.other_s) / n_urls,
        "startup_s": run.startup_s,
        "shutdown_s": run.shutdown_s,
    }


def summary(url: str, chromium: str, n_urls: int, levels: list[Level]) -> dict[str, Any]:
    first = next((lv for lv in levels if lv.concurrency == 1), levels[0])
    return {
        "url": url,
        "chromium": chromium,
        "urls": n_urls,
        "cpus": os.cpu_count(),
        "levels": [
            {
                "concurrency": lv.concurrency,
                "archiver": run_summary(n_urls, lv.archiver),
                "baseline": run_summary(n_urls, lv.baseline),
                "ratio": lv.archiver.wall_s / lv.baseline.wall_s,
            }
            for lv in levels
        ],
        "breakdown_concurrency": first.concurrency,
        "archiver_phase_median_ms": phase_medians(first.archiver.phases_ms),
        "archiver_median_capture_ms": statistics.median(first.archiver.per_capture_s) * 1000,
        "baseline_phase_median_ms": phase_medians(first.baseline.phases_ms),
        "baseline_median_capture_ms": statistics.median(first.baseline.per_capture_s) * 1000,
    }


def print_table(s: dict[str, Any]) -> None:
    print(f"demo post {s['url']}?n=0..{s['urls'] - 1}  chromium {s['chromium']}  ({s['cpus']} CPUs)")
    print(f"{s['urls']} URLs per run, one run per side and level, after an untimed warm-up")
    print("busy cores: CPU of the whole machine / wall; other: of which other processes used;")
    print("CPU/capt: (busy - other) CPU seconds / URLs")
    noisy = [
        f"{key[0].upper()} c{lv['concurrency']} ({lv[key]['other_cores']:.2f} cores)"
        for lv in s["levels"] for key in ("archiver", "baseline") if lv[key]["other_cores"] > OTHER_WARNING
    ]
    if noisy:
        print(f"warning: other processes were busy during {', '.join(noisy)}; those numbers are noisy")
    print()
    head = f"{'':22}{'wall':>8}{'capt/min':>10}{'median/capt':>13}{'start-up':>10}{'shut-down':>11}" \
           f"{'busy cores':>12}{'other':>7}{'CPU/capt':>10}{'peak RSS':>10}{'peak PSS':>10}"
    for lv in s["levels"]:
        print(f"concurrency {lv['concurrency']}")
        print(head)
        for label, key in (("A archiver capture", "archiver"), ("B bare playwright", "baseline")):
            r = lv[key]
            print(
                f"  {label:20}{r['wall_s']:>7.1f}s{r['captures_per_min']:>10.1f}{r['median_capture_s']:>12.2f}s"
                f"{r['startup_s']:>9.2f}s{r['shutdown_s']:>10.2f}s{r['busy_cores']:>9.2f}/{s['cpus']}{r['other_cores']:>7.2f}"
                f"{r['cpu_per_capture_s']:>9.2f}s"
                f"{r['peak_rss_mib']:>7.0f}MiB{r['peak_pss_mib']:>7.0f}MiB"
            )
        print()
    base = s["levels"][0]
    print(f"scaling vs concurrency {base['concurrency']} (captures/min):")
    for lv in s["levels"]:
        a = lv["archiver"]["captures_per_min"] / base["archiver"]["captures_per_min"]
        b = lv["baseline"]["captures_per_min"] / base["baseline"]["captures_per_min"]
        print(f"  concurrency {lv['concurrency']}: archiver {a:.2f}x, bare {b:.2f}x")

    n = s["breakdown_concurrency"]
    print(f"\nA where the time goes, one capture at concurrency {n} (median ms over {s['urls']} captures;")
    print("  steps from provenance.json, the rest from provenance started/ended, the JSON `seconds`,")
    print("  the capture-sealed event time in manifest.jsonl and `finished` in jobs.sqlite):")
    for name, ms in s["archiver_phase_median_ms"].items():
        print(f"  {name:62}{ms:>7.0f}")
    print(f"  {'median capture (JSON `seconds`)':62}{s['archiver_median_capture_ms']:>7.0f}")
    print(f"\nB where the time goes, one capture at concurrency {n} (median ms):")
    for name, ms in s["baseline_phase_median_ms"].items():
        print(f"  {name:62}{ms:>7.0f}")
    print(f"  {'median capture':62}{s['baseline_median_capture_ms']:>7.0f}")

    print()
    for lv in s["levels"]:
        print(
            f"concurrency {lv['concurrency']}: {lv['archiver']['captures_per_min']:.1f} captures/min vs "
            f"{lv['baseline']['captures_per_min']:.1f} bare -> {lv['ratio']:.2f}x"
        )


def parse_levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not levels or any(n < 1 or n > 32 for n in levels):
        raise argparse.ArgumentTypeError("levels must be between 1 and 32")
    return list(dict.fromkeys(levels))  # each level once: a level's case is used once


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--urls", type=int, default=50, help="distinct URLs per run (default 50)")
    parser.add_argument("--levels", type=parse_levels, default=[1, 2, 4], help="concurrency levels (default 1,2,4)")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = parser.parse_args()
    if args.urls < 1:
        parser.error("--urls must be at least 1")
    try:
        url, chromium, levels = measure(args.urls, args.levels)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    s = summary(url, chromium, args.urls, levels)
    if args.json:
        print(json.dumps(s))
    else:
        print_table(s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
