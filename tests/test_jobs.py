"""The job queue through the CLI: URL files, one job per URL, --again, retries, listing,
resume and retry; and the queue's own bookkeeping."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from helpers import ARCHIVER, CLI_KEY_DIR, HOST_RULES, run_cli

from archiver.jobs.queue import JobQueue
from archiver.verify.run import verify_path



run = run_cli


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(
        f"[browser]\nextra_args = [{json.dumps(HOST_RULES)}]\n[network]\nallow_private = true\n"
        "[timestamp]\nenabled = false\n"
        "[limits]\nnetwork_idle_timeout = 2.0\nscroll_timeout = 3.0\n"
        "[jobs]\nconcurrency = 2\nhost_delay = 0.0\nper_host = 2\nretries = 1\nretry_backoff = 0.2\n"
    )
    return path


def events(case: Path) -> list[dict]:
    return [json.loads(line) for line in (case / "manifest.jsonl").read_text().splitlines()]


def test_url_file_runs_once_per_url(tmp_path, config, web):
    out = tmp_path / "out"
    listing = tmp_path / "urls.txt"
    urls = [f"{web.main}/r/final?n={i}" for i in range(4)]
    listing.write_text("# posts to keep\n\n" + "\n".join(urls) + f"\n{urls[0]}   # twice in the list\n")
    done = run("capture", "--from-file", str(listing), "--config", str(config), "--out", str(out), "--case", "j", "--json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(line["url"] for line in lines) == sorted(urls)
    assert all(line["state"] == "complete" for line in lines)
    case = out / "j"
    sealed = [e for e in events(case) if e["type"] == "capture-sealed"]
    assert sorted(e["subject"]["url"] for e in sealed) == sorted(urls)
    assert all(isinstance(e["subject"]["job"], int) for e in sealed)
    # the same command again: everything is done, nothing is captured twice
    again = run("capture", "--from-file", str(listing), "--config", str(config), "--out", str(out), "--case", "j")
    assert again.returncode == 0 and "already in case j" in again.stderr
    assert len([e for e in events(case) if e["type"] == "capture-sealed"]) == 4
    # unless asked, from standard input this time
    more = run("capture", "--from-file", "-", "--again", "--config", str(config), "--out", str(out), "--case", "j", stdin=urls[1] + "\n")
    assert more.returncode == 0, more.stderr
    assert len([e for e in events(case) if e["type"] == "capture-sealed"]) == 5
    listed = json.loads(run("jobs", "j", "--out", str(out), "--json").stdout)
    assert listed["counts"]["done"] == 5 and not listed["counts"]["queued"] and not listed["counts"]["running"]
    assert verify_path(case).passed()


def test_retries_then_retry_command(tmp_path, config, free_port):
    out = tmp_path / "out"
    url = f"http://127.0.0.1:{free_port}/post"
    done = run("capture", url, "--config", str(config), "--out", str(out), "--case", "r")
    assert done.returncode == 1
    assert "retry" in done.stderr and "ERR_CONNECTION_REFUSED" in done.stderr
    queue = JobQueue(out / "r")
    (job,) = queue.all()
    queue.close()
    assert job.state == "failed" and job.attempts == 2  # 1 + one retry
    # every attempt is a sealed, failed capture: nothing about the attempts is lost
    sealed = [e for e in events(out / "r") if e["type"] == "capture-sealed"]
    assert [e["subject"]["state"] for e in sealed] == ["failed", "failed"]
    listing = run("jobs", "r", "--out", str(out))
    assert "failed" in listing.stdout and "ERR_CONNECTION_REFUSED" in listing.stdout
    retried = run("jobs", "retry", "r", "--config", str(config), "--out", str(out))
    assert retried.returncode == 1 and "1 failed job(s) queued again" in retried.stdout


def test_jobs_command_errors(tmp_path):
    bad = run("jobs", "nosuch", "--out", str(tmp_path))
    assert bad.returncode == 2 and bad.stderr.startswith("error: no case")
    usage = run("jobs", "a", "b", "--out", str(tmp_path))
    assert usage.returncode == 2 and "usage" in usage.stderr
    none = run("capture", "--out", str(tmp_path))
    assert none.returncode == 2 and "no URL given" in none.stderr


def test_queue_bookkeeping(tmp_path):
    queue = JobQueue(tmp_path)
    jobs, new = queue.add(["https://a.example/1", "https://a.example/1", "https://b.example/2"])
    assert new == 2 and jobs[0].id == jobs[1].id
    queue.claim(jobs[0].id, "cap-1")
    assert [j.id for j in queue.running()] == [jobs[0].id]
    queue.requeue(jobs[0].id, "interrupted", 0)
    queue.finish(jobs[2].id, "failed", "boom")
    assert queue.retry_failed() == 1
    assert queue.counts()["queued"] == 2
    queue.close()
    assert (tmp_path / "jobs.sqlite").exists()
    reopened = JobQueue(tmp_path)
    assert reopened.queued()[0].capture == "cap-1" and reopened.queued()[0].attempts == 1
    reopened.close()


@pytest.mark.slow
def test_browser_crash_fails_one_job_not_the_batch(tmp_path, config, web):
    """Chromium is killed while the batch runs: the job it was serving fails (or is
    retried), a fresh browser takes the rest."""
    import signal
    import time

    out = tmp_path / "out"
    urls = [f"{web.main}/never?n={i}" for i in range(2)] + [f"{web.main}/r/final?crash={i}" for i in range(3)]
    text = config.read_text().replace("concurrency = 2", "concurrency = 1")
    config.write_text(text.replace("scroll_timeout = 3.0", "scroll_timeout = 3.0\nload_timeout = 3.0\ncapture_timeout = 8.0"))
    env = {**os.environ, "ARCHIVER_IDENTITY__KEY_PATH": str(CLI_KEY_DIR / "station-key.pem")}
    proc = subprocess.Popen([ARCHIVER, "capture", *urls, "--config", str(config), "--out", str(out), "--case", "c", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while not list((out / "c").glob(".incomplete-*")) and time.monotonic() < deadline:
        time.sleep(0.1)  # wait until the first (never-ending) page is being captured
    time.sleep(0.5)
    children = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(proc.pid)], capture_output=True, text=True).stdout
    browsers = [int(line.split()[0]) for line in children.splitlines() if "chrom" in line]
    assert browsers, children
    for pid in browsers:
        os.killpg(pid, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=120)
    assert "Traceback" not in stderr
    results = {json.loads(line)["url"]: json.loads(line) for line in stdout.splitlines()}
    assert set(results) == set(urls), stderr
    assert all(results[u]["job_state"] == "done" for u in urls[2:]), results
    queue = JobQueue(out / "c")
    assert not queue.running() and not queue.queued()
    queue.close()


def test_polite_per_host(tmp_path, config, web):
    """per_host = 1 and host_delay = 1 s: captures of one host never overlap and start at
    least a second apart, even with two pages allowed at once."""
    out = tmp_path / "out"
    text = config.read_text().replace("host_delay = 0.0", "host_delay = 1.0").replace("per_host = 2", "per_host = 1")
    config.write_text(text)
    urls = [f"{web.main}/r/final?polite={i}" for i in range(3)]
    done = run("capture", *urls, "--config", str(config), "--out", str(out), "--case", "p")
    assert done.returncode == 0, done.stderr
    queue = JobQueue(out / "p")
    jobs = sorted(queue.all(), key=lambda j: j.started)
    queue.close()
    for before, after in zip(jobs, jobs[1:]):
        assert after.started >= before.finished - 0.05, "two captures of one host overlapped"
        assert after.started - before.started >= 1.0
