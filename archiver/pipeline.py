"""The pipeline, stage by stage: capture -> record (WARC) -> seal -> index for dedup.

    async with CaptureCase(settings, "my-case") as run:
        done = await run.capture("https://example.org/post/1")
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from .capture.engine import CaptureEngine
from .capture.netguard import Resolver, system_resolver
from .capture.session import WARC_NAME, CaptureResult
from .config import Settings
from .models import EventType
from .seal.case import Case, check_case_name, open_case
from .seal.identity import StationIdentity
from .seal.sealer import SealResult, seal_item
from .warc.dedup import PayloadIndex


@dataclass
class Captured:
    capture: CaptureResult
    seal: SealResult

    @property
    def path(self):
        return self.capture.path

    @property
    def state(self):
        return self.capture.state

    @property
    def provenance(self):
        return self.capture.provenance


class CaptureCase:
    """One browser and one case for a run of captures; each capture is sealed as soon as
    it is finished, so an interrupted run keeps every earlier capture sealed."""

    def __init__(
        self,
        settings: Settings,
        case_name: str | None = None,
        operator: str | None = None,
        resolver: Resolver = system_resolver,
    ):
        self.settings = settings
        self.case_name = check_case_name(case_name or settings.default_case)
        self.operator = operator or settings.identity.operator
        self.engine = CaptureEngine(settings, resolver)
        self.case: Case | None = None
        self.index: PayloadIndex | None = None

    async def __aenter__(self) -> "CaptureCase":
        identity = StationIdentity.load_or_create(self.settings.identity.key_path)
        self.case = open_case(self.settings.output_dir, self.case_name, identity, self.operator)
        if self.settings.dedup.enabled:
            self.index = PayloadIndex(self.case.folder)
        await self.engine.__aenter__()
        return self

    async def restart_browser(self) -> None:
        """A fresh browser (after a crash, or every N captures); no capture may be running."""
        await self.engine.stop()
        await self.engine.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.engine.__aexit__(*exc)
        if self.index is not None:
            self.index.close()

    async def capture(
        self,
        url: str,
        settings: Settings | None = None,
        name: str | None = None,
        job: int | None = None,
    ) -> Captured:
        """Capture and seal one URL. `name` fixes the capture folder's name in advance (the
        job queue records it before the capture starts); `job` is noted in the seal event."""
        assert self.case is not None
        dedup = self.index is not None and (settings or self.settings).dedup.enabled
        result = await self.engine.capture(
            url,
            case=self.case_name,
            out_dir=self.settings.output_dir,
            settings=settings,
            dedup=self.index.lookup if dedup and self.index else None,
            name=name,
        )
        prov = result.provenance
        sealed = await asyncio.to_thread(
            seal_item,
            self.case,
            result.path,
            EventType.CAPTURE_SEALED,
            {"kind": "capture", "url": prov.requested_url, "state": prov.state.value}
            | ({"job": job} if job is not None else {}),
            (settings or self.settings).timestamp,
        )
        if self.index is not None:
            warc = f"{sealed.path}/{WARC_NAME}"
            self.index.add((d, replace(o, warc=warc)) for d, o in result.originals.items())
        return Captured(result, sealed)
