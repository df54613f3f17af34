"""The `archiver` command as a user runs it: exit codes, one-line errors, JSON, the demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import HOST_RULES, run_cli



run = run_cli


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "archiver.toml"
    path.write_text(
        "[browser]\n"
        f"extra_args = [{json.dumps(HOST_RULES)}]\n"
        "[network]\nallow_private = true\n"
        "[timestamp]\nenabled = false\n"
        "[jobs]\nretries = 0\nhost_delay = 0.0\n"
        "[limits]\nload_timeout = 10.0\nnetwork_idle_timeout = 3.0\n"
    )
    return path


@pytest.mark.parametrize(
    "url,words",
    [
        ("ftp://example.org/file.txt", "ftp: is not http or https"),
        ("javascript:alert(1)", "javascript: is not http or https"),
        ("http://exa mple.org/", "malformed URL"),
        ("http://[::1", "malformed URL"),
    ],
)
def test_bad_input_one_line_exit_2(tmp_path, url, words):
    out = tmp_path / "out"
    done = run("capture", url, "--out", str(out))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]
    assert "Traceback" not in done.stderr
    assert not out.exists(), "no load was attempted, so no capture folder"


def test_load_failures_are_failed_captures(tmp_path, config, web, free_port):
    out = tmp_path / "out"
    urls = ["http://nosuch.test/post/1", f"http://127.0.0.1:{free_port}/", f"{web.https}/"]
    done = run("capture", *urls, "--config", str(config), "--out", str(out), "--case", "errs")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3, done.stderr
    by_url = {next(u for u in urls if u in line): line for line in errors}
    assert "does not resolve" in by_url[urls[0]] and "ERR_NAME_NOT_RESOLVED" in by_url[urls[0]]
    assert "refused" in by_url[urls[1]] and "ERR_CONNECTION_REFUSED" in by_url[urls[1]]
    assert "certificate" in by_url[urls[2]] and "ERR_CERT" in by_url[urls[2]]
    folders = sorted(p for p in (out / "errs").iterdir() if p.is_dir())
    assert len(folders) == 3
    assert (out / "errs" / "case.json").is_file() and (out / "errs" / "manifest.jsonl").is_file()
    for folder in folders:
        prov = json.loads((folder / "provenance.json").read_text())
        assert prov["state"] == "failed" and prov["failure"]
        assert (folder / "archive.warc.gz").stat().st_size > 0


def test_json_output_and_case_folder(tmp_path, config, web):
    out = tmp_path / "out"
    done = run("capture", f"{web.main}/r/start", "--config", str(config), "--out", str(out), "--case", "c1", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["state"] == "complete" and result["http_status"] == 200
    assert result["final_url"].endswith("/r/final")
    assert Path(result["path"]).parent == out / "c1"


def test_demo_captures_offline_into_demo_case(tmp_path):
    done = run("demo", "--out", str(tmp_path / "captures"))
    assert done.returncode == 0, done.stdout + done.stderr
    folders = [p for p in (tmp_path / "captures" / "demo").iterdir() if p.is_dir()]
    assert len(folders) == 1
    for name in ("archive.warc.gz", "provenance.json", "screenshot-full.png", "page.pdf", "dom.html"):
        assert name in done.stdout
        assert (folders[0] / name).stat().st_size > 0
    assert "COMPLETE" in done.stdout
    assert "Pejabat terlihat off-road" in (folders[0] / "dom.html").read_text()
