"""An interrupted run leaves every earlier capture intact and verifiable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import HOST_RULES, warcio_check

ARCHIVER = str(Path(sys.executable).with_name("archiver"))


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "\nState:\tZ" not in status.read_text()


@pytest.mark.slow
def test_kill_9_mid_capture_keeps_earlier_capture(tmp_path, web):
    config = tmp_path / "c.toml"
    config.write_text(
        f"[browser]\nextra_args = [{json.dumps(HOST_RULES)}]\n[network]\nallow_private = true\n"
        "[limits]\nload_timeout = 30.0\ncapture_timeout = 60.0\n"
    )
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [ARCHIVER, "capture", f"{web.main}/post/1", f"{web.main}/never", "--config", str(config), "--out", str(out), "--case", "k"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    case = out / "k"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = [p for p in case.glob("*") if p.is_dir() and not p.name.startswith(".")] if case.exists() else []
        running = list(case.glob(".incomplete-*")) if case.exists() else []
        if done and running:
            break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("the second capture never started")
    time.sleep(1.0)  # well inside the second page load (it never finishes loading)
    browsers = _children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)

    (first,) = done
    prov = json.loads((first / "provenance.json").read_text())
    assert prov["state"] == "complete"
    assert warcio_check(first / "archive.warc.gz").returncode == 0
    (second,) = running
    assert second.name.startswith(".incomplete-"), "an interrupted capture never looks finished"
    assert not (second / "provenance.json").exists()
    # the browser does not outlive us
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in browsers):
        time.sleep(0.1)
    assert browsers and not any(_alive(pid) for pid in browsers)


def test_stale_browser_profiles_are_swept(tmp_path):
    from archiver.capture.browser import sweep_stale_profiles

    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / "archiver-chromium-stale"
    stale.mkdir()
    os.symlink(f"host-{dead.pid}", stale / "SingletonLock")
    live = tmp_path / "archiver-chromium-live"
    live.mkdir()
    os.symlink(f"host-{os.getpid()}", live / "SingletonLock")
    removed = sweep_stale_profiles(tmp_path, min_age=0)
    assert removed == [stale] and not stale.exists() and live.exists()
