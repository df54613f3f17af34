"""Wall-clock cost of `archiver verify` on a big case versus `sha256sum` of the same files.

Builds a case of at least --gib GiB of sealed artifacts in a temp dir:

  * one real capture (in-process `CaptureCase`, 127.0.0.1) of a page that fetches a big
    pseudo-random body, so its `archive.warc.gz` is >= 100 MiB (gzip cannot shrink it);
  * imported files (`import_file`) of pseudo-random bytes up to the total.

Then times, after one untimed warm-up each (so the page cache is warm: these are
warm-cache numbers, no disk reads), 3 runs each in rotating order:

  A1 `verify_path(case)` in-process            (what `archiver verify` does, minus start-up)
  A2 `archiver verify CASE --json` subprocess  (exactly what a user runs)
  B  `sha256sum f1 f2 ...` subprocess over exactly the artifact files listed in the seals
  C  `openssl dgst -sha256 f1 f2 ...`, the same with hardware SHA-256 (for reference)

and, on the big WARC alone, `check_warc` (record digests) versus a plain SHA-256 of the
file, plus the parts of `check_warc` (gunzip alone, warcio parse without digests) so the
reader sees where the time goes.

Usage:  .venv/bin/python benchmarks/verify.py [--gib 1.0] [--warc-mib 112] [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from archiver.config import Settings, load_settings
from archiver.demo.server import DemoHandler, DemoServer
from archiver.errors import UserError
from archiver.importer import import_file
from archiver.pipeline import CaptureCase
from archiver.seal.case import open_case
from archiver.seal.identity import StationIdentity
from archiver.verify.files import sha256_file
from archiver.verify.report import Status
from archiver.verify.run import verify_path
from archiver.verify.warcs import check_warc

VENV_BIN = Path(sys.executable).parent
ARCHIVER = VENV_BIN / "archiver"
TIMEOUT_S = 600
MIB = 1 << 20
GIB = 1 << 30
MIN_WARC = 100 * MIB
IMPORT_FILE_BYTES = 64 * MIB  # each imported file (the last one may be smaller)
BLOCK = 1 * MIB
CASE = "bench-verify"

BIG_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Big</title></head>
<body><h1>Big payload page</h1><p id="status">Fetching</p>
<script>
var size = new URLSearchParams(location.search).get('size');
fetch('/big.bin?size=' + encodeURIComponent(size))
  .then(function (r) { return r.arrayBuffer(); })
  .then(function (b) { document.getElementById('status').textContent = 'Fetched ' + b.byteLength + ' bytes'; });
</script></body></html>
"""


class BenchError(RuntimeError):
    """A step did not produce what it should; the benchmark stops."""


def pseudo_random_blocks(size: int, seed: str) -> Iterator[bytes]:
    """`size` reproducible pseudo-random bytes in blocks of up to 1 MiB (incompressible)."""
    rng = random.Random(seed)
    for offset in range(0, size, BLOCK):
        yield rng.randbytes(min(BLOCK, size - offset))


class BigHandler(DemoHandler):
    """The demo site plus `/big?size=N`, a page that fetches N pseudo-random bytes."""

    routes = {**DemoHandler.routes, "/big": "serve_big", "/big.bin": "serve_big_bin"}

    def serve_big(self) -> None:
        self.send_html(BIG_PAGE)

    def serve_big_bin(self) -> None:
        size = int(self.query.get("size", "0"))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        for block in pseudo_random_blocks(size, "big.bin"):
            if self.stopping.is_set():
                self.close_connection = True
                return
            self.wfile.write(block)


# ---- building the case ---------------------------------------------------------------------

@dataclass
class Built:
    case_dir: Path
    warc: Path
    artifacts: list[Path]  # every file listed in a seal.json of the case, in seal order
    sealed_sha256: dict[Path, str]
    artifact_bytes: int
    capture_s: float
    imports: int
    import_s: float


def make_settings(out_dir: Path, key_path: Path, body_bytes: int) -> Settings:
    return load_settings(overrides={
        "output_dir": out_dir,
        "network": {"allow_private": True},
        "timestamp": {"enabled": False},
        "identity": {"key_path": key_path},
        "limits": {
            # Chromium measures its body buffer in base64 (4/3 of the bytes), and the
            # recorder passes max_response_bytes as that buffer's size: leave room.
            "max_response_bytes": body_bytes * 4 // 3 + 16 * MIB,
            "max_total_bytes": body_bytes + 64 * MIB,
            "capture_timeout": 300.0,
            "load_timeout": 60.0,
            "network_idle_timeout": 60.0,
        },
    })


async def capture_big(url: str, settings: Settings, body_bytes: int) -> Path:
    async with CaptureCase(settings, CASE) as run:
        done = await run.capture(url)
    prov = json.loads((done.path / "provenance.json").read_text())
    warc = done.path / prov["warc"]["path"]
    # bytes_recorded, not only state/truncated_bodies: a body the browser would not hand
    # over still leaves the capture "complete" (see README)
    if done.state.value != "complete" or prov["warc"]["bytes_recorded"] < body_bytes:
        raise BenchError(f"big capture ended {done.state.value}, {prov['warc']['bytes_recorded']:,} of "
                         f"{body_bytes:,} body bytes recorded, limits hit: {prov.get('limits_hit')}")
    if warc.stat().st_size < MIN_WARC:
        raise BenchError(f"the capture's WARC is only {warc.stat().st_size:,} bytes (want >= {MIN_WARC:,})")
    return warc


def sealed_artifacts(case_dir: Path) -> tuple[list[Path], dict[Path, str]]:
    files: list[Path] = []
    sums: dict[Path, str] = {}
    for seal in sorted(case_dir.rglob("seal.json")):
        for artifact in json.loads(seal.read_bytes()):
            path = seal.parent / artifact["path"]
            files.append(path)
            sums[path] = artifact["sha256"]
    return files, sums


def build_case(tmp: Path, gib: float, warc_mib: int) -> Built:
    body = warc_mib * MIB
    key = tmp / "station-key.pem"
    settings = make_settings(tmp / "out", key, body)
    with DemoServer(handler_class=BigHandler, name="bench-verify") as srv:
        t0 = time.perf_counter()
        url = srv.url_for(f"/big?size={body}")
        warc = asyncio.run(capture_big(url, settings, body))
        capture_s = time.perf_counter() - t0

    case = open_case(settings.output_dir, CASE, StationIdentity.load_or_create(key))
    target = int(gib * GIB)
    files, _ = sealed_artifacts(case.folder)
    have = sum(p.stat().st_size for p in files)
    source_dir = tmp / "sources"
    source_dir.mkdir()
    imports, t0 = 0, time.perf_counter()
    while have < target:
        imports += 1
        size = min(IMPORT_FILE_BYTES, target - have)
        source = source_dir / f"evidence-{imports:02d}.bin"
        with open(source, "wb") as fh:
            for block in pseudo_random_blocks(size, f"import-{imports}"):
                fh.write(block)
        sealed = import_file(case, source, settings, note="benchmark filler")
        source.unlink()  # keep the disk use to one copy
        have += sum(a.size for a in sealed.artifacts)
    import_s = time.perf_counter() - t0
    shutil.rmtree(source_dir)

    files, sums = sealed_artifacts(case.folder)
    return Built(case.folder, warc, files, sums, sum(p.stat().st_size for p in files), capture_s, imports, import_s)


# ---- the timed sides -------------------------------------------------------------------------

def check_report(report: Any, where: str) -> None:
    counts = report.counts()
    if report.case_problems or counts[Status.FAIL.value] or counts[Status.INCOMPLETE.value]:
        problems = [p for item in report.items for p in item.problems][:5]
        raise BenchError(f"{where}: verify did not pass: {counts} {report.case_problems[:5]} {problems}")


def verify_in_process(built: Built) -> dict[str, Any]:
    report = verify_path(built.case_dir)
    check_report(report, "verify_path")
    checked = sum(item.bytes_checked for item in report.items)
    if checked != built.artifact_bytes:
        raise BenchError(f"verify_path checked {checked:,} bytes, the seals list {built.artifact_bytes:,}")
    return {"counts": report.counts(), "files": sum(i.files_checked for i in report.items),
            "warc_records": sum(i.warc_records for i in report.items)}


def verify_cli(built: Built) -> None:
    proc = subprocess.run([str(ARCHIVER), "verify", str(built.case_dir), "--json"],
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        out = {}
    if proc.returncode != 0 or not out.get("passed") or any(i["status"] == "FAIL" for i in out.get("items", [])):
        raise BenchError(f"archiver verify failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")


def sha256sum(built: Built) -> None:
    proc = subprocess.run(["sha256sum", *map(str, built.artifacts)], capture_output=True, text=True, timeout=TIMEOUT_S)
    if proc.returncode != 0:
        raise BenchError(f"sha256sum failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    got = {}
    for line in proc.stdout.splitlines():
        digest, _, name = line.partition("  ")
        got[Path(name)] = digest
    if got != built.sealed_sha256:
        raise BenchError("sha256sum disagrees with the seals")


def openssl_dgst(built: Built) -> None:
    proc = subprocess.run(["openssl", "dgst", "-sha256", *map(str, built.artifacts)],
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    if proc.returncode != 0:
        raise BenchError(f"openssl dgst failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    got = {}
    for line in proc.stdout.splitlines():  # SHA2-256(path)= hex
        head, _, digest = line.rpartition("= ")
        got[Path(head[head.index("(") + 1:-1])] = digest
    if got != built.sealed_sha256:
        raise BenchError("openssl dgst disagrees with the seals")


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def gunzip_only(path: Path) -> None:
    """Decompress every gzip member of the file, 1 MiB reads, nothing else."""
    with open(path, "rb") as fh:
        d = zlib.decompressobj(31)
        while chunk := fh.read(BLOCK):
            while chunk:
                d.decompress(chunk)
                if d.eof:
                    chunk = d.unused_data
                    d = zlib.decompressobj(31)
                else:
                    chunk = b""


def warcio_parse_only(path: Path) -> None:
    """check_warc's loop without digest checks: warcio's gunzip + record parsing + reads."""
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh, check_digests=False):
            stream = record.content_stream()
            while stream.read(BLOCK):
                pass


def gunzip_and_two_sha256(path: Path) -> None:
    """What check_warc must compute at least, in one plain loop: gunzip, then a block
    digest and a payload digest (two SHA-256 over about the same bytes)."""
    with open(path, "rb") as fh:
        d = zlib.decompressobj(31)
        a, b = hashlib.sha256(), hashlib.sha256()
        while chunk := fh.read(BLOCK):
            while chunk:
                out = d.decompress(chunk)
                a.update(out)
                b.update(out)
                if d.eof:
                    chunk = d.unused_data
                    d = zlib.decompressobj(31)
                else:
                    chunk = b""


@dataclass
class Results:
    runs: int
    built: Built | None = None
    verify_info: dict[str, Any] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=dict)
    warc_parts: dict[str, list[float]] = field(default_factory=dict)


SIDES = ("A1 verify_path (in-process)", "A2 archiver verify --json", "B  sha256sum")
REFERENCE = "C  openssl dgst -sha256"  # hardware SHA-256 (SHA-NI), one thread, for reference
WARC_PARTS = (
    "sha256 of the file (verify's hash_artifact)",
    "check_warc (warcio, check_digests=True)",
    "  warcio parse + read, no digests",
    "  gunzip alone (zlib, 1 MiB reads)",
    "  gunzip + 2x sha256, one plain loop",
    "sha256sum of the file (subprocess)",
)


def measure(gib: float, warc_mib: int, runs: int, tmp: Path) -> Results:
    res = Results(runs=runs)
    built = res.built = build_case(tmp, gib, warc_mib)
    warc = built.warc
    sides: dict[str, Callable[[], Any]] = {
        SIDES[0]: lambda: verify_in_process(built),
        SIDES[1]: lambda: verify_cli(built),
        SIDES[2]: lambda: sha256sum(built),
    }
    if shutil.which("openssl"):
        sides[REFERENCE] = lambda: openssl_dgst(built)
    res.verify_info = verify_in_process(built)  # warm-up, also the page cache
    for fn in sides.values():
        fn()  # warm-up, untimed
    res.times = {name: [] for name in sides}
    names = list(sides)
    for i in range(runs):
        order = names[i % len(names):] + names[:i % len(names)]
        for name in order:
            res.times[name].append(timed(sides[name]))

    parts: dict[str, Callable[[], Any]] = {
        WARC_PARTS[0]: lambda: sha256_file(warc),
        WARC_PARTS[1]: lambda: check_warc(warc),
        WARC_PARTS[2]: lambda: warcio_parse_only(warc),
        WARC_PARTS[3]: lambda: gunzip_only(warc),
        WARC_PARTS[4]: lambda: gunzip_and_two_sha256(warc),
        WARC_PARTS[5]: lambda: subprocess.run(["sha256sum", str(warc)], capture_output=True, check=True),
    }
    check = check_warc(warc)
    if check.problems:
        raise BenchError(f"check_warc found problems in the big WARC: {check.problems[:3]}")
    for fn in parts.values():
        fn()  # warm-up
    res.warc_parts = {name: [timed(fn) for _ in range(runs)] for name, fn in parts.items()}
    return res


def summary(r: Results) -> dict[str, Any]:
    b = r.built
    assert b is not None
    med = {name: statistics.median(t) for name, t in r.times.items()}
    parts = {name: statistics.median(t) for name, t in r.warc_parts.items()}
    return {
        "runs": r.runs,
        "case": {
            "artifact_files": len(b.artifacts),
            "artifact_bytes": b.artifact_bytes,
            "warc_bytes": b.warc.stat().st_size,
            "imports": b.imports,
            "capture_s": b.capture_s,
            "import_s": b.import_s,
            "verify": r.verify_info,
        },
        "seconds": {name: {"median": med[name], "min": min(t), "max": max(t), "all": t} for name, t in r.times.items()},
        "mb_per_s": {name: b.artifact_bytes / 1e6 / med[name] for name in med},
        "warc_parts_s": parts,
        "warc_mb_per_s": {name: b.warc.stat().st_size / 1e6 / s for name, s in parts.items()},
        "ratio_cli": med[SIDES[1]] / med[SIDES[2]],
        "ratio_in_process": med[SIDES[0]] / med[SIDES[2]],
        # verify's work, from the single-file parts: every artifact hashed at the measured
        # hashlib speed, plus check_warc of the WARC, shared by verify's 2 worker threads
        "work_s": {
            "hash_all_artifacts": b.artifact_bytes / (b.warc.stat().st_size / parts[WARC_PARTS[0]]),
            "check_warc": parts[WARC_PARTS[1]],
        },
        "ratio_cli_vs_openssl": med[SIDES[1]] / med[REFERENCE] if REFERENCE in med else None,
        "ratio_in_process_vs_openssl": med[SIDES[0]] / med[REFERENCE] if REFERENCE in med else None,
    }


def print_table(s: dict[str, Any]) -> None:
    c = s["case"]
    v = c["verify"]
    print(f"case: {c['artifact_files']} sealed artifact files, {c['artifact_bytes']:,} bytes "
          f"({c['artifact_bytes'] / GIB:.2f} GiB); 1 capture with archive.warc.gz {c['warc_bytes']:,} bytes "
          f"({c['warc_bytes'] / MIB:.1f} MiB, {v['warc_records']} records), {c['imports']} imported files")
    print(f"built in: capture {c['capture_s']:.1f} s, imports {c['import_s']:.1f} s; verify result {v['counts']}")
    print(f"warm page cache: every side ran once untimed first; {s['runs']} timed runs each, rotating order\n")
    print(f"{'':32}{'median':>9}{'min':>9}{'max':>9}{'MB/s':>8}")
    for name, t in s["seconds"].items():
        print(f"{name:32}{t['median']:>8.2f}s{t['min']:>8.2f}s{t['max']:>8.2f}s{s['mb_per_s'][name]:>8.0f}")
    cli, inproc = s["seconds"][SIDES[1]]["median"], s["seconds"][SIDES[0]]["median"]
    print(f"(A2 - A1 = {cli - inproc:.2f} s: interpreter start-up, imports, settings, JSON output)")
    print(f"\nthe big WARC alone ({c['warc_bytes'] / MIB:.1f} MiB), median of {s['runs']} warm runs:")
    for name, sec in s["warc_parts_s"].items():
        print(f"  {name:44}{sec:>7.2f}s{s['warc_mb_per_s'][name]:>8.0f} MB/s")
    parts = s["warc_parts_s"]
    print(f"  check_warc / sha256 of the same file: {parts[WARC_PARTS[1]] / parts[WARC_PARTS[0]]:.1f}x")
    w = s["work_s"]
    total = w["hash_all_artifacts"] + w["check_warc"]
    print(f"\nverify's work (from the parts above): hash all {c['artifact_bytes'] / GIB:.2f} GiB {w['hash_all_artifacts']:.2f} s"
          f" + check_warc {w['check_warc']:.2f} s = {total:.2f} s CPU "
          f"({w['check_warc'] / total:.0%} in the WARC record check);")
    print(f"  on 2 worker threads at best {max(total / 2, w['check_warc']):.2f} s; measured verify_path {inproc:.2f} s")
    if s["ratio_cli_vs_openssl"] is not None:
        print(f"verify vs openssl dgst -sha256 (one thread, SHA-NI): CLI {s['ratio_cli_vs_openssl']:.2f}x, "
              f"in-process {s['ratio_in_process_vs_openssl']:.2f}x")
    print(f"\nverify vs sha256sum: {s['ratio_cli']:.2f}x (archiver verify CLI {cli:.2f} s, "
          f"in-process verify_path {inproc:.2f} s = {s['ratio_in_process']:.2f}x, "
          f"sha256sum {s['seconds'][SIDES[2]]['median']:.2f} s; {c['artifact_bytes'] / GIB:.2f} GiB, "
          f"{s['runs']} runs, warm cache)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=float, default=1.0, help="total artifact size of the case, GiB (default 1.0)")
    parser.add_argument("--warc-mib", type=int, default=112, help="body size of the big capture, MiB (default 112, min 100)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each side (default 3)")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.warc_mib < 100:
        parser.error("--warc-mib must be at least 100")
    if not shutil.which("sha256sum"):
        parser.error("sha256sum (GNU coreutils) is not on PATH")
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        try:
            s = summary(measure(args.gib, args.warc_mib, args.runs, Path(tmp)))
        except (BenchError, UserError, subprocess.TimeoutExpired, subprocess.CalledProcessError) as exc:
            print(f"benchmark failed: {exc}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps(s))
    else:
        print_table(s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
