"""The job queue under abuse: kill -9 at random moments and at chosen ones, Ctrl-C, hostile
pages side by side, a full disk. Whatever happens, the case stays consistent: every URL ends
up captured exactly once, nothing half-written is ever sealed, and the chain verifies.

Every run is the real `archiver` command in its own session (process group), as a user's
shell would start it; the fixture web is on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import HOST_RULES

from archiver.verify.report import Status
from archiver.verify.run import verify_path

ARCHIVER = str(Path(sys.executable).with_name("archiver"))
KEY_DIR = Path(tempfile.mkdtemp(prefix="archiver-test-reliability-"))
ENV = {**os.environ, "ARCHIVER_IDENTITY__KEY_PATH": str(KEY_DIR / "station.pem")}
SEED = int(os.environ.get("ARCHIVER_TEST_SEED", "20240611"))
FINISHED = ("done", "partial")
SEALED_OK = (Status.PASS, Status.PENDING)  # timestamps are off: intact items are PENDING


# ---- running the command --------------------------------------------------------------

def write_config(path: Path, limits: dict[str, float] | None = None, jobs: dict[str, object] | None = None) -> Path:
    limits = {"network_idle_timeout": 2.0, "scroll_timeout": 3.0, **(limits or {})}
    jobs = {"host_delay": 0.0, "per_host": 4, "retries": 0, **(jobs or {})}
    lines = [
        "[browser]", f"extra_args = [{json.dumps(HOST_RULES)}]",
        "[network]", "allow_private = true",
        "[timestamp]", "enabled = false",
        "[limits]", *(f"{k} = {json.dumps(v)}" for k, v in limits.items()),
        "[jobs]", *(f"{k} = {json.dumps(v)}" for k, v in jobs.items()),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def start(args: list[str], logs: Path, name: str, argv0: list[str] | None = None, env: dict | None = None) -> subprocess.Popen:
    """The command in a new session (its own process group), output to files."""
    logs.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [*(argv0 or [ARCHIVER]), *args],
        stdin=subprocess.DEVNULL,
        stdout=open(logs / f"{name}.out", "w"),
        stderr=open(logs / f"{name}.err", "w"),
        env=env or ENV,
        start_new_session=True,
    )


def run(args: list[str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ARCHIVER, *args], capture_output=True, text=True, timeout=timeout, env=ENV)


def jobs_json(out: Path, case: str) -> dict:
    listed = run(["jobs", case, "--out", str(out), "--json"], timeout=60)
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)


def queue_rows(case_dir: Path) -> list[dict]:
    """The queue read directly (read-only), e.g. while a run is writing it."""
    if not (case_dir / "jobs.sqlite").exists():
        return []
    db = sqlite3.connect(f"file:{case_dir / 'jobs.sqlite'}?mode=ro", uri=True, timeout=10)
    try:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM jobs ORDER BY id")]
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        db.close()


def events(case_dir: Path) -> list[dict]:
    path = case_dir / "manifest.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_bytes().split(b"\n"):
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def sealed_captures(case_dir: Path) -> list[dict]:
    return [e["subject"] for e in events(case_dir) if e.get("type") == "capture-sealed"]


def provenance(case_dir: Path, capture: str) -> dict:
    return json.loads((case_dir / capture / "provenance.json").read_text())


# ---- processes ------------------------------------------------------------------------

def proc_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (ppid, state, comm) for every process now."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        head, _, rest = stat.rpartition(")")
        fields = rest.split()
        table[int(entry)] = (int(fields[1]), fields[0], head.partition("(")[2])
    return table


def descendants(pid: int, table: dict[int, tuple[int, str, str]] | None = None) -> set[int]:
    table = table if table is not None else proc_table()
    children: dict[int, list[int]] = {}
    for child, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper is dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class BrowserSnapshot:
    pids: set[int]
    profiles: set[str]  # --user-data-dir of the run's Chromium (directories that exist)
    sessions: set[int]  # the Chromium's own session (it is started with setsid)


def session_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[4])


def browser_snapshot(root: int) -> BrowserSnapshot:
    pids = {p for p in descendants(root) if "chrom" in cmdline(p)}
    profiles = set()
    for pid in pids:
        for word in cmdline(pid).split():
            # Chromium rewrites its helpers' process titles into the argv space it has, so a
            # helper's cmdline can end mid-path ("/tmp/archiver-chromium"): keep only profiles
            # that are real directories, or a cut path would match every other Chromium here.
            if word.startswith("--user-data-dir=") and Path(word.partition("=")[2]).is_dir():
                profiles.add(word.partition("=")[2])
    ours = {session_of(root), session_of(os.getpid())}
    sessions = {s for s in map(session_of, pids) if s is not None} - ours
    return BrowserSnapshot(pids, profiles, sessions)


def survivors(snap: BrowserSnapshot) -> list[str]:
    """Processes of that run's Chromium still running: the snapshot's, and any other in its
    session or naming its profile exactly (a renderer started after the snapshot)."""
    left = [f"{p} {cmdline(p)[:120]}" for p in snap.pids if alive(p)]
    for pid in proc_table():
        if pid in snap.pids or not alive(pid):
            continue
        words = cmdline(pid).split()
        if session_of(pid) in snap.sessions or any(f"--user-data-dir={prof}" in words for prof in snap.profiles):
            left.append(f"{pid} {cmdline(pid)[:120]}")
    return left


def kill_group_and_check_browser(proc: subprocess.Popen) -> BrowserSnapshot:
    """SIGKILL the run's process group; its Chromium (own session, PR_SET_PDEATHSIG) must
    die with it within seconds. The leaked temp profile is removed (kill -9 cannot)."""
    snap = browser_snapshot(proc.pid)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and survivors(snap):
        time.sleep(0.1)
    assert not survivors(snap), f"Chromium outlived the killed run: {survivors(snap)}"
    for profile in snap.profiles:
        if Path(profile).name.startswith("archiver-chromium-"):
            shutil.rmtree(profile, ignore_errors=True)
    return snap


class RssSampler:
    """Peak VmRSS of a process tree, polled every 0.2 s: the archiver (Python) itself, its
    Chromium (all processes summed, and the largest one), Playwright's driver, and this
    test process (which serves the fixture web)."""

    def __init__(self, root: int, interval: float = 0.2):
        self.root = root
        self.interval = interval
        self.peaks = {"archiver": 0, "chromium_sum": 0, "chromium_max": 0, "driver": 0, "tree": 0, "pytest+web": 0}
        self.samples = 0
        self.baseline_self = rss_kib(os.getpid())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            table = proc_table()
            now = {"archiver": rss_kib(self.root), "chromium_sum": 0, "chromium_max": 0, "driver": 0}
            for pid in descendants(self.root, table):
                rss = rss_kib(pid)
                if "chrom" in table[pid][2] or "chrom" in cmdline(pid)[:40]:
                    now["chromium_sum"] += rss
                    now["chromium_max"] = max(now["chromium_max"], rss)
                else:
                    now["driver"] += rss
            now["tree"] = now["archiver"] + now["chromium_sum"] + now["driver"]
            now["pytest+web"] = rss_kib(os.getpid())
            for key, value in now.items():
                self.peaks[key] = max(self.peaks[key], value)
            self.samples += 1
            self._stop.wait(self.interval)

    def report(self) -> str:
        return (", ".join(f"{k} {v / 1024:.0f} MiB" for k, v in self.peaks.items())
                + f" (pytest+web before: {self.baseline_self / 1024:.0f} MiB; {self.samples} samples)")


# ---- what must hold for any batch, however it was interrupted ---------------------------

@dataclass
class CaseCheck:
    problems: list[str] = field(default_factory=list)

    def check(self, ok: bool, message: str) -> None:
        if not ok:
            self.problems.append(message)


def check_case(out: Path, case: str, urls: list[str], allow_failed: bool = False) -> CaseCheck:
    """Queue finished, one sealed capture per URL, nothing half-written sealed, verify
    passes (non-strict) with leftovers of killed captures reported as INCOMPLETE."""
    case_dir = out / case
    result = CaseCheck()
    listed = jobs_json(out, case)
    counts, jobs = listed["counts"], listed["jobs"]
    result.check(not counts["running"] and not counts["queued"], f"jobs left unfinished: {counts}")
    states = FINISHED + (("failed",) if allow_failed else ())
    for job in jobs:
        result.check(job["state"] in states, f"job {job['id']} {job['url']} is {job['state']}: {job['last_error']}")
    result.check(sorted(j["url"] for j in jobs) == sorted(urls), "one job per URL")

    sealed = sealed_captures(case_dir)
    for url in urls:
        done = [s for s in sealed if s.get("url") == url and s.get("state") in ("complete", "partial")]
        if not allow_failed or any(j["url"] == url and j["state"] in FINISHED for j in jobs):
            result.check(len(done) == 1, f"{url}: {len(done)} completed capture-sealed events, want 1")
    sealed_paths = {s["path"] for s in sealed}
    for job in jobs:
        if job["state"] in FINISHED:
            result.check(job["capture"] in sealed_paths, f"job {job['id']}: its capture {job['capture']} is not sealed")

    for path in sealed_paths:
        parts = sorted(p.name for p in (case_dir / path).rglob("*.part"))
        result.check(not parts, f"{path}: temp files left in a sealed capture: {parts}")

    report = verify_path(case_dir)
    result.check(not report.case_problems, f"case problems: {report.case_problems}")
    result.check(report.passed(), "verify failed: " + "; ".join(
        f"{it.path}: {[p.reason + ' ' + p.file for p in it.problems]}" for it in report.items if it.status == Status.FAIL))
    by_path = {it.path: it for it in report.items}
    for path in sealed_paths:
        item = by_path.get(path)
        result.check(item is not None and item.status in SEALED_OK, f"sealed {path}: {item.status if item else 'not reported'}")
    incomplete = [p.name for p in case_dir.iterdir() if p.is_dir() and p.name.startswith(".incomplete-")]
    for name in incomplete:
        item = by_path.get(name)
        result.check(item is not None and item.status == Status.INCOMPLETE, f"{name}: {item.status if item else 'not reported'}, want INCOMPLETE")
    for item in report.items:
        if item.status == Status.INCOMPLETE:
            result.check(item.path.startswith(".incomplete-"), f"{item.path}: finished but left unsealed ({item.notes})")
    return result


def url_file(tmp_path: Path, urls: list[str]) -> Path:
    path = tmp_path / "urls.txt"
    path.write_text("\n".join(urls) + "\n")
    return path


def kill_batch_urls(web) -> list[str]:
    return ([f"{web.main}/r/final?n={i}" for i in range(1, 21)]
            + [f"{web.main}/post/1?n={i}" for i in range(1, 7)]
            + [f"{web.main}/gzip?n={i}" for i in range(1, 7)])


# ---- 1. kill -9 at random moments -------------------------------------------------------

@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume(tmp_path, web):
    urls = kill_batch_urls(web)
    config = write_config(tmp_path / "c.toml")
    out = tmp_path / "out"
    args = ["capture", "--from-file", str(url_file(tmp_path, urls)), "--case", "k", "--concurrency", "2",
            "--config", str(config), "--out", str(out)]
    rng = random.Random(SEED)
    kills = 0
    t0 = time.monotonic()
    for round_number in range(4):
        delay = rng.uniform(1.0, 6.0)
        proc = start(args, tmp_path / "logs", f"round-{round_number}")
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        if proc.poll() is not None:
            break  # the batch finished before this kill
        snap = kill_group_and_check_browser(proc)
        kills += 1
        rows = queue_rows(out / "k")
        print(f"\n[seed {SEED}] kill {kills} after {delay:.2f}s: {len(snap.pids)} Chromium processes died with it; "
              f"queue {sum(r['state'] in FINISHED for r in rows)} finished, {sum(r['state'] == 'running' for r in rows)} running; "
              f"{len(sealed_captures(out / 'k'))} sealed")
    final = start(args, tmp_path / "logs", "final")
    assert final.wait(240) == 0, (tmp_path / "logs" / "final.err").read_text()
    resumed = sum(log.read_text().count("resume: job") for log in (tmp_path / "logs").glob("*.err"))
    print(f"{kills} kills, {resumed} jobs reconciled on resume, {time.monotonic() - t0:.1f}s in all")
    assert kills >= 3, "the batch finished before it could be killed three times"

    result = check_case(out, "k", urls)
    assert not result.problems, "\n".join(result.problems)


# ---- 1b. kill -9 at the worst moments, deterministically --------------------------------

KILLER = r'''
import os, signal, sys
from archiver.models import EventType
from archiver.storage.atomic import temp_path

point = os.environ["ARCHIVER_TEST_KILL_AT"]

def die():
    os.killpg(0, signal.SIGKILL)

if point == "before-seal":  # the capture folder is finished and renamed, not sealed yet
    import archiver.pipeline as pipeline
    pipeline.seal_item = lambda *a, **k: die()
elif point == "mid-seal-file":  # seal.json half written (its temp file) in the final folder
    from archiver.seal import sealer
    original = sealer.atomic_write_bytes
    def write(path, data):
        if path.name == "seal.json":
            with open(temp_path(path), "xb") as fh:
                fh.write(data[: len(data) // 2])
                fh.flush()
                os.fsync(fh.fileno())
            die()
        return original(path, data)
    sealer.atomic_write_bytes = write
elif point == "after-event":  # sealed in the manifest, the queue not told yet
    from archiver.seal.case import Case
    record = Case.record
    def recorded(self, type_, subject):
        event = record(self, type_, subject)
        if type_ == EventType.CAPTURE_SEALED:
            die()
        return event
    Case.record = recorded

from archiver.cli import main
sys.argv = ["archiver", *sys.argv[1:]]
main()
'''


@pytest.mark.slow
@pytest.mark.parametrize("point", ["before-seal", "mid-seal-file", "after-event"])
def test_kill_9_at_each_step_of_a_seal(tmp_path, web, point):
    """The random kills rarely land inside a seal (milliseconds of each capture); here
    the kill is placed there on purpose, then the same command is run again."""
    urls = [f"{web.main}/r/final?seal={point}", f"{web.main}/gzip?seal={point}"]
    config = write_config(tmp_path / "c.toml")
    out = tmp_path / "out"
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER)
    args = ["capture", *urls, "--case", "s", "--concurrency", "1", "--config", str(config), "--out", str(out)]
    proc = start(args, tmp_path / "logs", "killed", argv0=[sys.executable, str(killer)],
                 env={**ENV, "ARCHIVER_TEST_KILL_AT": point, "TMPDIR": str(tmp_path)})  # its leaked profile
    assert proc.wait(120) == -signal.SIGKILL, (tmp_path / "logs" / "killed.err").read_text()
    rows = queue_rows(out / "s")
    assert [r["state"] for r in rows] == ["running", "queued"], rows
    again = run(args)
    assert again.returncode == 0, again.stderr
    assert "resume: job 1" in again.stderr, again.stderr
    result = check_case(out, "s", urls)
    assert not result.problems, "\n".join(result.problems)


# ---- 2. Ctrl-C --------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("target", ["process", "group"])
def test_sigint_stops_cleanly_and_resume_finishes(tmp_path, web, target):
    """SIGINT to the archiver only (`kill -INT PID`), or to its whole process group as a
    terminal's Ctrl-C does (Playwright's driver gets it too; Chromium has its own session)."""
    urls = [f"{web.main}/r/final?int=1", f"{web.main}/never?int=1", f"{web.main}/never?int=2",
            f"{web.main}/post/1?int=1", f"{web.main}/never?int=3", f"{web.main}/gzip?int=1"]
    config = write_config(tmp_path / "c.toml", limits={"load_timeout": 4.0, "capture_timeout": 20.0, "attachments_timeout": 8.0})
    out = tmp_path / "out"
    args = ["capture", *urls, "--case", "i", "--concurrency", "2", "--config", str(config), "--out", str(out)]
    proc = start(args, tmp_path / "logs", "interrupted")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(r["state"] in FINISHED for r in queue_rows(out / "i")):
            break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("no job finished within 60 s")
    assert proc.poll() is None, "the batch ended before the interrupt"
    running_then = [r["id"] for r in queue_rows(out / "i") if r["state"] == "running"]
    if target == "process":
        proc.send_signal(signal.SIGINT)
    else:
        os.killpg(proc.pid, signal.SIGINT)
    sent = time.monotonic()
    try:
        code = proc.wait(30)
    except subprocess.TimeoutExpired:
        kill_group_and_check_browser(proc)
        pytest.fail("still running 30 s after SIGINT")
    took = time.monotonic() - sent
    stderr = (tmp_path / "logs" / "interrupted.err").read_text()
    print(f"\nSIGINT to the {target} with jobs {running_then} running: exit {code} after {took:.1f}s")
    assert code == 130, stderr
    assert "Traceback" not in stderr, stderr
    assert "archiver jobs resume i" in stderr, stderr
    rows = queue_rows(out / "i")
    assert not [r for r in rows if r["state"] == "running"], rows
    for row in rows:
        if row["id"] in running_then:
            assert row["state"] in FINISHED, f"job {row['id']} was let finish: {row}"
    assert [r for r in rows if r["state"] == "queued"], "nothing new was claimed after the interrupt"

    resumed = run(["jobs", "resume", "i", "--config", str(config), "--out", str(out)], timeout=180)
    failed = [j for j in jobs_json(out, "i")["jobs"] if j["state"] == "failed"]
    assert resumed.returncode == (1 if failed else 0), resumed.stderr
    assert "Traceback" not in resumed.stderr
    result = check_case(out, "i", urls, allow_failed=True)
    assert not result.problems, "\n".join(result.problems)


# ---- 3. hostile pages side by side ------------------------------------------------------

CAPTURE_TIMEOUT = 20.0
ATTACHMENTS_TIMEOUT = 8.0
# capture_timeout bounds the load; the attachments (own budget + 5 s), the recorder's
# drain (6 s), popups/downloads settling (10 s) and the context close (10 s) come on top.
JOB_BUDGET = CAPTURE_TIMEOUT + ATTACHMENTS_TIMEOUT + 5 + 6 + 10 + 10


@pytest.mark.slow
def test_hostile_pages_under_concurrency(tmp_path, web):
    hostile = {
        "big": f"{web.main}/big?size=300000000",
        "never": f"{web.main}/never?h=1",
        "dom-bomb": f"{web.main}/dom-bomb?h=1",
        "loop": f"{web.main}/loop?h=1",
        "busy": f"{web.main}/busy?h=1",
    }
    dialogs_page = f"{web.main}/hostile?h=1"
    normal = [f"{web.main}/post/1?h=1", f"{web.main}/r/final?h=1", f"{web.main}/gzip?h=1"]
    urls = [*hostile.values(), dialogs_page, *normal]
    config = write_config(tmp_path / "c.toml", limits={
        "capture_timeout": CAPTURE_TIMEOUT, "load_timeout": 6.0, "attachments_timeout": ATTACHMENTS_TIMEOUT})
    out = tmp_path / "out"
    args = ["capture", "--from-file", str(url_file(tmp_path, urls)), "--case", "h", "--concurrency", "2",
            "--config", str(config), "--out", str(out), "--json"]
    t0 = time.monotonic()
    proc = start(args, tmp_path / "logs", "hostile")
    with RssSampler(proc.pid) as rss:
        try:
            code = proc.wait(240)
        except subprocess.TimeoutExpired:
            kill_group_and_check_browser(proc)
            pytest.fail("the batch did not end within 240 s")
    took = time.monotonic() - t0
    stderr = (tmp_path / "logs" / "hostile.err").read_text()
    print(f"\nhostile batch: exit {code} after {took:.1f}s; peak RSS: {rss.report()}")
    assert "Traceback" not in stderr, stderr

    lines = [json.loads(line) for line in (tmp_path / "logs" / "hostile.out").read_text().splitlines()]
    by_url = {line["url"]: line for line in lines}
    jobs = {j["url"]: j for j in jobs_json(out, "h")["jobs"]}
    assert set(by_url) == set(jobs) == set(urls)
    for url in urls:
        j, line = jobs[url], by_url[url]
        print(f"  {j['state']:8} {j['seconds'] or 0:5.1f}s {url.split('/', 3)[-1]:22} "
              f"limits={[h['limit'] for h in line['limits_hit']]} failure={line['failure']}")
    problems = []
    for url, job in jobs.items():
        if job["state"] not in ("done", "partial", "failed"):
            problems.append(f"{url}: {job['state']}")
        elif job["seconds"] is not None and job["seconds"] > JOB_BUDGET:
            problems.append(f"{url}: {job['seconds']:.1f}s, over its {JOB_BUDGET:.0f}s budget")
    failed = [u for u, j in jobs.items() if j["state"] == "failed"]
    if code != (1 if failed else 0):
        problems.append(f"exit {code} with failed jobs {failed}")
    for url in normal:
        if jobs[url]["state"] != "done" or by_url[url]["state"] != "complete":
            problems.append(f"normal page {url}: {jobs[url]['state']} / {by_url[url]['state']}")
    expected = {"big": "max_response_bytes/max_total_bytes", "never": "load_timeout", "dom-bomb": "max_dom_nodes"}
    for name, url in hostile.items():
        line = by_url[url]
        if jobs[url]["state"] not in ("partial", "failed") or not (line["limits_hit"] or line["failure"]):
            problems.append(f"hostile {name}: {jobs[url]['state']}/{line['state']} with no limit hit and no failure recorded")
        if name in expected and expected[name] not in [h["limit"] for h in line["limits_hit"]]:
            problems.append(f"hostile {name}: {expected[name]} not among {line['limits_hit']}")
    if "TOO_MANY_REDIRECTS" not in (by_url[hostile["loop"]]["failure"] or ""):
        problems.append(f"loop: {by_url[hostile['loop']]['failure']}")
    # /hostile fights with dialogs, a popup and a download: all handled, all on the record
    prov = provenance(out / "h", jobs[dialogs_page]["capture"])
    if jobs[dialogs_page]["state"] not in FINISHED or len(prov["dialogs"]) < 4 or not prov["popups"] \
            or not any(d["recorded"] for d in prov["downloads"]):
        problems.append(f"/hostile: {jobs[dialogs_page]['state']}, dialogs {len(prov['dialogs'])}, "
                        f"popups {prov['popups']}, downloads {prov['downloads']}")

    # the 300 MB body streams through: never held whole by the archiver, let alone twice
    assert rss.peaks["archiver"] < 1.5 * 1024 * 1024, rss.report()
    grown = rss.peaks["pytest+web"] - rss.baseline_self
    assert grown < 256 * 1024, f"the fixture server should stream /big.bin, not build it: +{grown} KiB"
    report = verify_path(out / "h")
    assert report.passed() and not report.case_problems, report.case_problems
    assert not problems, "\n".join(problems)


# ---- 4. a full disk ---------------------------------------------------------------------

def _mount_tmpfs(where: Path, size: str) -> str | None:
    """Mount a tmpfs; None when done, else why not (not root, no mount)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        return "needs root and mount(8) to make a small tmpfs"
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True, text=True)
    return None if done.returncode == 0 else f"cannot mount a tmpfs here: {done.stderr.strip()}"


@pytest.mark.slow
def test_full_disk_fails_jobs_not_the_case(tmp_path, web):
    disk = tmp_path / "disk"
    why = _mount_tmpfs(disk, "20m")
    if why:
        pytest.skip(why)
    try:
        urls = [f"{web.main}/post/1?disk=1", f"{web.main}/r/final?disk=1", f"{web.main}/big?size=50000000",
                f"{web.main}/gzip?disk=1", f"{web.main}/post/1?disk=2"]
        config = write_config(tmp_path / "c.toml", limits={"capture_timeout": 30.0, "load_timeout": 10.0})
        args = ["capture", *urls, "--case", "f", "--concurrency", "1", "--config", str(config), "--out", str(disk)]
        t0 = time.monotonic()
        done = run(args, timeout=180)
        print(f"\nfull disk: exit {done.returncode} after {time.monotonic() - t0:.1f}s; "
              f"stderr tail: {done.stderr.strip().splitlines()[-3:]}")
        case_dir = disk / "f"
        rows = queue_rows(case_dir)
        for row in rows:
            print(f"  {row['state']:8} {row['url'].split('/', 3)[-1]:22} {row['last_error']}")
        sealed = sealed_captures(case_dir)

        # everything sealed before the disk filled up still verifies: nothing sealed is corrupt
        report = verify_path(case_dir)
        assert not report.case_problems, report.case_problems
        by_path = {it.path: it for it in report.items}
        for subject in sealed:
            assert by_path[subject["path"]].status in SEALED_OK, by_path[subject["path"]]
        assert not [it for it in report.items if it.status == Status.FAIL], report.items
        assert {s["url"] for s in sealed} >= set(urls[:2]), "the pages before the big one fit"

        # the batch ends with a clear message, not a crash (collected: the recovery below
        # is worth seeing even when this part fails)
        problems = []
        if "Traceback" in done.stderr:
            crash = [line for line in done.stderr.splitlines() if line and not line.startswith((" ", "Traceback"))]
            problems.append(f"tracebacks on stderr, ending: {crash[-3:]}")
        if done.returncode == 0:
            problems.append("exit 0 although jobs could not be written")
        said = [line for line in done.stderr.splitlines()
                if line.startswith("error:") and ("No space left" in line or "disk is full" in line)]
        if not said:
            problems.append("no one-line 'error: ... No space left / disk is full' message")
        left = [r["url"] for r in rows if r["state"] == "running"]
        if left:
            problems.append(f"jobs left running: {left}")
        big = next(r for r in rows if "/big?" in r["url"])
        if big["state"] != "failed" or "No space left" not in (big["last_error"] or ""):
            problems.append(f"the big page's job is {big['state']} ({big['last_error']}), want failed: No space left")

        # with room again, the rest of the batch completes
        grown = subprocess.run(["mount", "-o", "remount,size=512m", str(disk)], capture_output=True, text=True)
        assert grown.returncode == 0, grown.stderr
        resumed = run(["jobs", "resume", "f", "--config", str(config), "--out", str(disk)], timeout=180)
        if [r for r in queue_rows(case_dir) if r["state"] == "failed"]:
            resumed = run(["jobs", "retry", "f", "--config", str(config), "--out", str(disk)], timeout=180)
        if resumed.returncode != 0 or "Traceback" in resumed.stderr:
            problems.append(f"after freeing space: exit {resumed.returncode}: {resumed.stderr[-500:]}")
        problems += check_case(disk, "f", urls).problems
        assert not problems, "\n".join(problems)
    finally:
        for _ in range(20):
            if subprocess.run(["umount", str(disk)], capture_output=True).returncode == 0:
                break
            time.sleep(0.5)
        else:
            subprocess.run(["umount", "-l", str(disk)], capture_output=True)


SHORT_WRITE = r'''
import os, resource, signal, sys
from pathlib import Path
from archiver.models import EventType
from archiver.seal.case import open_case
from archiver.seal.identity import StationIdentity

folder = Path(sys.argv[1])
case = open_case(folder, "t", StationIdentity.load_or_create(folder / "station.pem"))
manifest = folder / "t" / "manifest.jsonl"
before = manifest.stat().st_size
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
# room for 100 more bytes: the next event's write() is cut short, as on a disk that fills up
resource.setrlimit(resource.RLIMIT_FSIZE, (before + 100, resource.RLIM_INFINITY))
try:
    case.record(EventType.NOTE_ADDED, {"text": "x" * 1000})
    print("recorded")
except OSError as exc:
    print("raised", exc.errno)
'''


def test_manifest_append_cut_short_is_an_error_not_a_torn_line(tmp_path):
    """A disk that fills up during the append makes write() return short: the event must
    not be reported as recorded, and the chain must not be left with a torn last line."""
    script = tmp_path / "short_write.py"
    script.write_text(SHORT_WRITE)
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    data = (tmp_path / "t" / "manifest.jsonl").read_bytes()
    report = verify_path(tmp_path / "t")
    whole = data.endswith(b"\n")
    print(f"\nshort write: {done.stdout.strip()}; manifest ends with newline: {whole}; "
          f"case problems: {[p.reason for p in report.case_problems]}")
    assert done.stdout.startswith("raised"), "the cut-short event was reported as recorded"
    assert whole and not report.case_problems, report.case_problems
