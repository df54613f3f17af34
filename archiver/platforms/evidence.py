"""What an extractor may read: the capture's DOM snapshot and the responses it recorded.

An extractor never fetches anything. During a capture the session builds a `PageEvidence`
from memory (the DOM it just snapshotted, the text responses the recorder saw); afterwards
`PageEvidence.from_capture(folder)` builds the same thing from `dom.html` and the WARC.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml.html import HtmlElement
from warcio.archiveiterator import ArchiveIterator

# text bodies worth keeping for extractors (JSON APIs, HTML, oEmbed); media never
TEXT_TYPES = ("json", "html", "javascript", "text/plain", "xml")
MAX_TEXT_BODY = 8 * 1024 * 1024
MAX_TEXT_TOTAL = 64 * 1024 * 1024
JSON_STARTS = (b"{", b"[", b"for (;;);", b"for(;;);", b")]}'")


def is_text_type(content_type: str | None) -> bool:
    ct = (content_type or "").lower()
    return any(t in ct for t in TEXT_TYPES)


@dataclass(frozen=True)
class RecordedResponse:
    url: str
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        """The body as JSON (also the `for(;;);`/`)]}'` guarded forms); None if it is not."""
        text = self.body.decode("utf-8", "replace").lstrip()
        for guard in ("for (;;);", "for(;;);", ")]}'"):
            if text.startswith(guard):
                text = text[len(guard):]
        try:
            return json.loads(text)
        except ValueError:
            return None


@dataclass
class ResponseStore:
    """Text responses of one capture, in the order they were recorded, bounded in size."""

    responses: list[RecordedResponse] = field(default_factory=list)
    total: int = 0
    skipped: int = 0

    def add(self, url: str, status: int, content_type: str | None, body: bytes | None) -> None:
        if body is None or not is_text_type(content_type):
            return
        if "javascript" in (content_type or "").lower() and not body.lstrip()[:9].startswith(JSON_STARTS):
            return  # script bundles: no extractor reads them (JSON served as JavaScript is kept)
        if len(body) > MAX_TEXT_BODY or self.total + len(body) > MAX_TEXT_TOTAL:
            self.skipped += 1
            return
        self.total += len(body)
        self.responses.append(RecordedResponse(url, status, content_type or "", body))


@dataclass
class PageEvidence:
    url: str  # the URL the capture was asked for
    final_url: str  # where the page ended up (after redirects)
    html: str  # the DOM snapshot (dom.html)
    store: ResponseStore = field(default_factory=ResponseStore)

    # -- DOM --------------------------------------------------------------------------

    @cached_property
    def doc(self) -> HtmlElement:
        text = self.html if self.html.strip() else "<html></html>"
        return lxml.html.document_fromstring(text, base_url=self.final_url)

    def select(self, css: str, root: HtmlElement | None = None) -> list[HtmlElement]:
        return (root if root is not None else self.doc).cssselect(css)

    def first(self, css: str, root: HtmlElement | None = None) -> HtmlElement | None:
        found = self.select(css, root)
        return found[0] if found else None

    def absolute(self, href: str | None) -> str | None:
        return urljoin(self.final_url, href) if href else None

    def meta(self, key: str) -> str | None:
        """<meta property=KEY> or <meta name=KEY> content (OpenGraph, Twitter cards, ...)."""
        for attr in ("property", "name", "itemprop"):
            for el in self.doc.xpath(f"//meta[@{attr}=$k]", k=key):
                content = el.get("content")
                if content is not None and content.strip():
                    return content.strip()
        return None

    def link_rel(self, rel: str, type_: str | None = None) -> str | None:
        for el in self.doc.xpath("//link[@href]"):
            rels = (el.get("rel") or "").lower().split()
            if rel in rels and (type_ is None or (el.get("type") or "").lower() == type_):
                return self.absolute(el.get("href"))
        return None

    def json_ld(self) -> list[dict[str, Any]]:
        """Every JSON-LD object of the page, `@graph` members flattened."""
        found: list[dict[str, Any]] = []
        for script in self.doc.xpath('//script[@type="application/ld+json"]'):
            try:
                data = json.loads(script.text or "")
            except ValueError:
                continue
            stack = data if isinstance(data, list) else [data]
            for item in stack:
                if isinstance(item, dict):
                    found.append(item)
                    graph = item.get("@graph")
                    if isinstance(graph, list):
                        found.extend(g for g in graph if isinstance(g, dict))
        return found

    def script_json(self, css: str) -> list[Any]:
        """Parsed JSON of the <script> elements matching `css` (state blobs)."""
        out = []
        for script in self.select(css):
            try:
                out.append(json.loads(script.text or ""))
            except ValueError:
                continue
        return out

    # -- recorded responses -----------------------------------------------------------

    def responses(self, pattern: str) -> Iterator[RecordedResponse]:
        """Recorded text responses whose URL matches the regular expression `pattern`."""
        rx = re.compile(pattern)
        for r in self.store.responses:
            if rx.search(r.url):
                yield r

    def api_json(self, pattern: str) -> Iterator[tuple[str, Any]]:
        """(URL, parsed JSON) of every recorded JSON response whose URL matches `pattern`."""
        for r in self.responses(pattern):
            if 200 <= r.status < 300:
                data = r.json()
                if data is not None:
                    yield r.url, data

    @property
    def host(self) -> str:
        return (urlsplit(self.final_url).hostname or "").lower()

    # -- from a finished capture ------------------------------------------------------

    @classmethod
    def from_capture(cls, folder: Path) -> "PageEvidence":
        folder = Path(folder)
        prov = json.loads((folder / "provenance.json").read_text())
        dom = folder / "dom.html"
        html = dom.read_text("utf-8", "replace") if dom.exists() else ""
        store = ResponseStore()
        with open(folder / "archive.warc.gz", "rb") as fh:
            for rec in ArchiveIterator(fh):
                if rec.rec_type != "response" or rec.http_headers is None:
                    continue
                ct = rec.http_headers.get_header("Content-Type")
                if not is_text_type(ct):
                    continue
                store.add(
                    rec.rec_headers.get_header("WARC-Target-URI"),
                    int(rec.http_headers.get_statuscode() or 0),
                    ct,
                    rec.content_stream().read(),
                )
        return cls(
            url=prov["requested_url"],
            final_url=prov.get("page_url") or prov.get("final_url") or prov["requested_url"],
            html=html,
            store=store,
        )
