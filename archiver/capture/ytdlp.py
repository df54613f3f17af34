"""Video the page did not hand over whole, downloaded with yt-dlp (an optional extra:
`pip install 'archiver[video]'`). yt-dlp runs as a library inside a child process of ours
(`python -m archiver.capture.ytdlp URL DIR MAX_BYTES`), so the time limit can end it for
sure; the file it leaves is recorded as a WARC `resource` record by the caller."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def available() -> bool:
    return importlib.util.find_spec("yt_dlp") is not None


@dataclass
class Download:
    path: Path | None
    source_url: str | None  # the media URL yt-dlp actually fetched
    note: str | None = None  # why there is no file


def netscape_cookies(storage_state: dict[str, Any]) -> str:
    """A Playwright storage state's cookies in the cookies.txt format yt-dlp reads."""
    lines = ["# Netscape HTTP Cookie File"]
    for c in storage_state.get("cookies", []):
        domain = c["domain"]
        sub = "TRUE" if domain.startswith(".") else "FALSE"
        expires = int(c.get("expires") or 0)
        lines.append("\t".join([
            domain, sub, c.get("path") or "/", "TRUE" if c.get("secure") else "FALSE",
            str(max(expires, 0)), c["name"], c["value"],
        ]))
    return "\n".join(lines) + "\n"


async def download(
    url: str, out_dir: Path, max_bytes: int, timeout: float, storage_state: dict[str, Any] | None = None
) -> Download:
    """With `storage_state` (a logged-in capture), yt-dlp gets the profile's cookies through
    a temporary cookies file, mode 600, outside the capture folder, deleted afterwards."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="archiver-ytdlp-") as secret_dir:
        args = [url, str(out_dir), str(max_bytes)]
        if storage_state and storage_state.get("cookies"):
            jar = Path(secret_dir) / "cookies.txt"
            fd = os.open(jar, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(netscape_cookies(storage_state))
            args.append(str(jar))
        return await _run(args, out_dir, timeout)


def _stop(pid: int, out_dir: Path) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for part in out_dir.glob("*.part"):
        part.unlink(missing_ok=True)


async def _run(args: list[str], out_dir: Path, timeout: float) -> Download:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "archiver.capture.ytdlp", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        _stop(proc.pid, out_dir)
        await proc.wait()
        return Download(None, None, f"yt-dlp did not finish within video_timeout ({timeout:.0f}s)")
    except asyncio.CancelledError:  # the capture is being stopped: never leave yt-dlp running
        _stop(proc.pid, out_dir)
        await proc.wait()  # killed: returns at once
        raise
    lines = out.decode("utf-8", "replace").strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else {}
    except ValueError:
        result = {}
    if proc.returncode != 0 or not result.get("path"):
        reason = result.get("error") or err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no file"]
        reason = reason if isinstance(reason, str) else reason[0]
        return Download(None, None, f"yt-dlp: {reason[:300]}")
    return Download(Path(result["path"]), result.get("url"), None)


def _main(url: str, out_dir: str, max_bytes: int, cookiefile: str | None = None) -> int:
    import yt_dlp  # the optional extra

    class Quiet:
        def debug(self, msg: str) -> None: ...
        def info(self, msg: str) -> None: ...
        def warning(self, msg: str) -> None: ...
        def error(self, msg: str) -> None:
            print(msg, file=sys.stderr)

    options = {
        "outtmpl": os.path.join(out_dir, "%(id).60s.%(ext)s"),
        "max_filesize": max_bytes,
        "noplaylist": True,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "socket_timeout": 20,
        "retries": 1,
        "format": "best[ext=mp4]/best",  # one file: no ffmpeg merge needed
        "logger": Quiet(),
        "cachedir": False,
    }
    if cookiefile:
        options["cookiefile"] = cookiefile
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=True)
            path = info.get("requested_downloads", [{}])[0].get("filepath") if info else None
            if not path or not os.path.exists(path):
                size = (info or {}).get("filesize") or (info or {}).get("filesize_approx")
                reason = (
                    f"over max_video_bytes ({size} > {max_bytes})"
                    if size and size > max_bytes
                    else f"no file written (larger than max_video_bytes {max_bytes}, or no video found)"
                )
                print(json.dumps({"error": reason}))
                return 1
            print(json.dumps({"path": path, "url": info.get("url") or url}))
            return 0
    except yt_dlp.utils.DownloadError as exc:
        print(json.dumps({"error": str(exc).replace("ERROR: ", "")[:300]}))
        return 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None))
