"""The post stage of a capture: platform behaviours during the load, the post element's
screenshot, the post read from what was recorded (post.json), and its full-size media
archived (from the recorded responses, fetched whole inside the page, or via yt-dlp).

The session calls it at fixed points; it never fails a capture: what it could not do is
written down (PostOutcome.notes, Media.note) and the capture goes on.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from warcio.archiveiterator import ArchiveIterator

from ..config import Settings
from ..platforms.evidence import PageEvidence, ResponseStore
from ..platforms.extract import Extracted, extract
from ..platforms.models import Media, MediaOrigin, MediaType, Post, PostOutcome
from ..platforms.registry import GENERIC, platform_for_page, platform_for_url
from ..storage.atomic import atomic_write_bytes, fsync_dir
from ..storage.digest import sha256_file
from ..warc.writer import RecordInfo, WarcWriter
from . import ytdlp
from .behaviours.generic import CONSENT, PLAY_VIDEOS
from .behaviours.media import is_whole_piece
from .behaviours.runner import Behaviour
from .exchange import BodyState, Exchange
from .netguard import NetGuard

POST_JSON = "post.json"
POST_PNG = "post.png"
MEDIA_DIR = "media"
SPOOL_DIR = ".media-spool"
DIRECT_MEDIA = re.compile(r"\.(mp4|m4v|webm|mov|mp3|m4a|ogg|jpe?g|png|gif|webp|avif)(\?|$)", re.I)
MEDIA_TYPES = ("image/", "video/", "audio/")

FETCH_JS = """async (urls) => {
  const out = {};
  await Promise.all(urls.map(async (url) => {
    try {
      const r = await fetch(url, {credentials: 'include', mode: 'no-cors', cache: 'no-store'});
      await r.arrayBuffer();
      out[url] = r.type === 'opaque' ? 'opaque' : String(r.status);
    } catch (e) { out[url] = 'error: ' + String(e).slice(0, 120); }
  }));
  return out;
}"""


@dataclass
class Seen:
    """A media response the capture recorded (or wrote as a revisit of an earlier one)."""

    info: RecordInfo
    content_type: str
    size: int
    complete: bool
    spool: Path | None = None  # body kept aside when the record is a revisit (no payload)


@dataclass
class Got:
    media: Media
    seen: Seen | None = None
    download: Path | None = None  # yt-dlp's file
    download_url: str | None = None


def _key(url: str) -> str:
    return urldefrag(url)[0]


@dataclass
class PostStage:
    settings: Settings
    url: str
    work_dir: Path
    store: ResponseStore = field(default_factory=ResponseStore)
    seen: dict[str, Seen] = field(default_factory=dict)
    extracted: Extracted | None = None
    read_at: datetime | None = None
    element_shot: str | None = None
    fetched: set[str] = field(default_factory=set)
    got: list[Got] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    guard: NetGuard | None = None  # the engine's network guard, for what yt-dlp fetches
    storage_state: dict[str, Any] | None = None  # a login profile's state: yt-dlp's cookies

    def __post_init__(self) -> None:
        self.platform = platform_for_url(self.url)
        self.cfg = self.settings.platforms

    # -- during the load --------------------------------------------------------------

    def behaviours(self) -> list[Behaviour]:
        if not self.cfg.behaviours:
            return []
        return [CONSENT, *self.platform.behaviours, PLAY_VIDEOS]

    def see(self, ex: Exchange, written: list[RecordInfo]) -> None:
        """Called for every recorded exchange (from the recorder's task: no awaiting)."""
        hop = ex.last
        if not hop.has_response or hop.status is None or not written:
            return
        headers = {k.lower(): v for k, v in (hop.response_headers or {}).items()}
        ctype = headers.get("content-type", hop.mime_type or "")
        complete = hop.body_state == BodyState.COMPLETE
        if complete:
            self.store.add(hop.url, hop.status, ctype, hop.body)
        if not ctype.lower().startswith(MEDIA_TYPES) or not (hop.status == 200 or is_whole_piece(hop)):
            return
        info = written[-1]
        spool = None
        if info.record_type == "revisit" and complete and hop.body:
            spool = self.work_dir / SPOOL_DIR / hashlib.sha256(hop.body).hexdigest()
            spool.parent.mkdir(exist_ok=True)
            spool.write_bytes(hop.body)
        old = self.seen.get(_key(hop.url))
        if old is None or (complete and not old.complete):
            self.seen[_key(hop.url)] = Seen(info, ctype.split(";")[0].strip(), len(hop.body), complete, spool)

    # -- after the load ---------------------------------------------------------------

    async def screenshot(self, page: Page, timeout: float) -> bytes | None:
        """The post element alone (post.png), from the platform's selectors."""
        if not self.cfg.extract:
            return None
        for selector in self.platform.post_selectors(self.url):
            try:
                locator = page.locator(selector).first
                if await asyncio.wait_for(locator.count(), timeout) == 0:
                    continue
                data = await locator.screenshot(timeout=timeout * 1000, animations="disabled")
                self.element_shot = selector
                return data
            except (asyncio.TimeoutError, PlaywrightError) as exc:
                self.notes.append(f"post screenshot with {selector!r} failed: {str(exc).splitlines()[0][:200]}")
        if self.platform.post_selectors(self.url):
            self.notes.append("the post element was not found on the page: no post.png")
        return None

    async def read(self, final_url: str, dom_html: str) -> Extracted | None:
        if not self.cfg.extract:
            return None
        self.read_at = datetime.now(timezone.utc)
        ev = PageEvidence(self.url, final_url or self.url, dom_html, self.store)
        platform = self.platform
        if platform is GENERIC:  # an unknown host may still be a known platform's software
            platform = await asyncio.to_thread(platform_for_page, ev)
        self.extracted = await asyncio.to_thread(extract, platform, ev)
        return self.extracted

    def _wanted(self) -> list[Media]:
        post = self.extracted.post if self.extracted else None
        if post is None or not self.cfg.media:
            return []
        return list(post.media[: self.cfg.max_media_items])

    def missing(self) -> list[str]:
        """Media URLs of the post not recorded whole, that the page itself can fetch."""
        out = []
        for m in self._wanted():
            seen = self.seen.get(_key(m.url))
            if seen and seen.complete:
                continue
            # images, files named as media, and anything on another host (CDNs: TikTok's and
            # Facebook's video URLs have no extension); not the platform's own pages (YouTube
            # watch URLs), which are yt-dlp's
            other_host = urlsplit(m.url).hostname != urlsplit(self.url).hostname
            if m.type is MediaType.IMAGE or DIRECT_MEDIA.search(urlsplit(m.url).path + "?") or other_host:
                out.append(m.url)
        return sorted(set(out))

    def skipped_media(self) -> int:
        post = self.extracted.post if self.extracted else None
        return max(0, len(post.media) - self.cfg.max_media_items) if post else 0

    async def fetch_missing(self, page: Page, budget: float) -> str:
        urls = self.missing()
        if not urls:
            return "nothing missing"
        self.fetched.update(urls)
        try:
            result = await asyncio.wait_for(page.evaluate(FETCH_JS, urls), budget)
        except asyncio.TimeoutError:
            return f"{len(urls)} fetches still running after {budget:.0f}s"
        return ", ".join(f"{u.rsplit('/', 1)[-1][:40]}: {s}" for u, s in result.items())

    def videos_missing(self) -> list[Media]:
        return [
            m for m in self._wanted()
            if m.type in (MediaType.VIDEO, MediaType.GIF, MediaType.AUDIO)
            and not (self.seen.get(_key(m.url)) and self.seen[_key(m.url)].complete)
        ]

    async def download_videos(self, budget: float) -> str:
        """yt-dlp for videos still not recorded whole (after the in-page fetch), one after
        the other, all within `budget` seconds (video_timeout)."""
        todo = self.videos_missing()
        if not todo:
            return "nothing to download"
        if not self.cfg.yt_dlp:
            self.notes.append("yt-dlp is switched off ([platforms] yt_dlp = false)")
            return "yt-dlp off"
        if not ytdlp.available():
            self.notes.append("video not recorded whole and yt-dlp is not installed (pip install 'archiver[video]')")
            return "yt-dlp not installed"
        done = []
        deadline = time.monotonic() + budget
        for i, m in enumerate(todo):
            timeout = deadline - time.monotonic()
            if timeout < 1.0:
                self.notes.append(f"{m.url}: not downloaded: video_timeout ({budget:.0f}s) used up by the videos before it")
                continue
            refused = await self.guard.check(m.url) if self.guard is not None else None
            if refused:  # yt-dlp goes out by itself: the same SSRF rule as the browser's
                self.notes.append(f"{m.url}: not downloaded: {refused}")
                continue
            out = self.work_dir / SPOOL_DIR / f"ytdlp-{i}"
            result = await ytdlp.download(m.url, out, self.cfg.max_video_bytes, timeout, self.storage_state)
            if result.path is not None:
                self.got.append(Got(m, download=result.path, download_url=result.source_url))
                done.append(result.path.name)
            else:
                self.notes.append(f"{m.url}: {result.note}")
        return f"downloaded {len(done)} of {len(todo)}"

    # -- writing ----------------------------------------------------------------------

    def finish(self, writer: WarcWriter, final_url: str) -> PostOutcome | None:
        """Copy the media out of the WARC into media/, write post.json. Before writer.close()."""
        ex = self.extracted
        if ex is None:
            self._clean_spool()
            return None
        outcome = PostOutcome(
            found=ex.post is not None,
            platform=ex.platform,
            extractor=ex.post.extraction.extractor if ex.post else None,
            element_screenshot=POST_PNG if self.element_shot else None,
            login_required=ex.login_required,
            notes=ex.notes + self.notes,
        )
        if ex.post is None:
            self._clean_spool()
            return outcome
        if self.skipped_media():
            outcome.notes.append(
                f"{self.skipped_media()} media items past max_media_items ({self.cfg.max_media_items}) not archived"
            )
        downloads = {id(g.media): g for g in self.got}
        media: list[Media] = []
        done: dict[str, Media] = {}  # the same URL listed twice is archived once
        for index, m in enumerate(ex.post.media, 1):
            if index > self.cfg.max_media_items or not self.cfg.media:
                media.append(m.model_copy(update={"note": "not archived: past max_media_items" if self.cfg.media else None}))
                continue
            if _key(m.url) in done and done[_key(m.url)].path:
                same = done[_key(m.url)]
                media.append(m.model_copy(update={k: getattr(same, k) for k in ("path", "sha256", "size", "media_type", "origin", "warc_uri")}))
                continue
            media.append(self._archive(writer, index, m, downloads.get(id(m))))
            done[_key(m.url)] = media[-1]
        post = ex.post.model_copy(update={"media": media, "counts_read_at": self.read_at if ex.post.counts else None})
        atomic_write_bytes(self.work_dir / POST_JSON, post.model_dump_json(indent=2).encode() + b"\n")
        self._clean_spool()
        outcome.path = POST_JSON
        outcome.media_archived = sum(1 for m in media if m.path)
        outcome.media_missing = sum(1 for m in media if not m.path)
        return outcome

    def _archive(self, writer: WarcWriter, index: int, m: Media, got: Got | None) -> Media:
        if not self.cfg.media:
            return m
        if got is not None and got.download is not None:
            ctype = mimetypes.guess_type(got.download.name)[0] or "video/mp4"
            info = writer.write_resource(got.download_url or m.url, got.download, ctype)
            path = self._place(index, ctype, got.download)
            return self._filled(m, path, ctype, MediaOrigin.YT_DLP, info.target_uri)
        seen = self.seen.get(_key(m.url))
        if seen is None or not seen.complete:
            why = "not recorded whole" if seen else "not loaded by the page"
            tried = " (fetched in the page, no whole body came back)" if m.url in self.fetched else ""
            return m.model_copy(update={"note": f"{why}{tried}"})
        origin = MediaOrigin.FETCHED if m.url in self.fetched else MediaOrigin.RECORDED
        tmp = self.work_dir / SPOOL_DIR / f"out-{index}"
        tmp.parent.mkdir(exist_ok=True)
        if seen.spool is not None:
            shutil.copyfile(seen.spool, tmp)
        else:
            writer.file.fh.flush()
            with open(writer.file.tmp, "rb") as fh, open(tmp, "wb") as out:
                fh.seek(seen.info.offset)
                for rec in ArchiveIterator(fh):
                    stream = rec.content_stream()
                    while chunk := stream.read(1 << 20):
                        out.write(chunk)
                    break
        path = self._place(index, seen.content_type, tmp)
        filled = self._filled(m, path, seen.content_type, origin, seen.info.target_uri)
        if seen.info.record_type == "response" and seen.info.payload_digest != f"sha256:{filled.sha256}":
            # cannot happen unless our copy is wrong: say so rather than pass it off as the record
            return filled.model_copy(update={"note": "copy differs from the WARC record's payload digest"})
        return filled

    def _place(self, index: int, ctype: str, source: Path) -> Path:
        ext = mimetypes.guess_extension(ctype) or source.suffix or ".bin"
        ext = {".jpe": ".jpg", ".jpeg": ".jpg"}.get(ext, ext)
        target = self.work_dir / MEDIA_DIR / f"{index:02d}{ext}"
        target.parent.mkdir(exist_ok=True)
        with open(source, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(source, target)
        fsync_dir(target.parent)
        return target

    def _filled(self, m: Media, path: Path, ctype: str, origin: MediaOrigin, uri: str) -> Media:
        digest, size = sha256_file(path)
        return m.model_copy(
            update={
                "path": path.relative_to(self.work_dir).as_posix(),
                "sha256": digest,
                "size": size,
                "media_type": ctype,
                "origin": origin,
                "warc_uri": uri,
            }
        )

    def _clean_spool(self) -> None:
        shutil.rmtree(self.work_dir / SPOOL_DIR, ignore_errors=True)


def post_of(folder: Path) -> Post | None:
    path = Path(folder) / POST_JSON
    return Post.model_validate_json(path.read_text()) if path.exists() else None
