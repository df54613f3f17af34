"""What the recorder hands to the WARC writer: HTTP exchanges as the browser saw them.

One browser request id can span several hops (each redirect is its own request and
response under the same id); each hop becomes its own request/response record pair.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class BodyState(str, enum.Enum):
    COMPLETE = "complete"
    NONE = "none"  # no body by nature: redirect, HEAD, 204/304
    TRUNCATED_LENGTH = "length"  # over a size limit: kept what fitted (maybe nothing)
    TRUNCATED_TIME = "time"  # still arriving when the capture ended
    UNAVAILABLE = "unspecified"  # the browser would not hand it over


@dataclass
class Hop:
    url: str
    method: str
    request_headers: dict[str, str]
    post_data: bytes | None = None
    wall_time: float | None = None  # seconds since epoch when the request started
    resource_type: str | None = None
    # Raw request headers as sent (requestWillBeSentExtraInfo), incl. cookies, HTTP/2 pseudo
    raw_request_headers: dict[str, str] | None = None
    # Response
    status: int | None = None
    status_text: str = ""
    response_headers: dict[str, str] | None = None
    raw_response_headers: dict[str, str] | None = None
    headers_text: str | None = None
    protocol: str | None = None
    remote_ip: str | None = None
    remote_port: int | None = None
    mime_type: str | None = None
    security: dict[str, Any] | None = None
    from_service_worker: bool = False
    body: bytes = b""
    body_state: BodyState = BodyState.NONE
    body_note: str | None = None

    @property
    def has_response(self) -> bool:
        return self.status is not None


@dataclass
class Exchange:
    request_id: str
    target_type: str  # page, iframe, service_worker, worker...
    hops: list[Hop] = field(default_factory=list)
    session_id: str | None = None  # where the body lives (loadingFinished's session)
    finished: bool = False
    error: str | None = None  # net::ERR_... from loadingFailed
    blocked_reason: str | None = None
    canceled: bool = False
    encoded_length: int | None = None  # bytes on the wire (loadingFinished)
    decoded_length: int = 0  # body bytes as the page got them (sum of dataReceived)
    extra_requests: list[dict[str, Any]] = field(default_factory=list)
    extra_responses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def last(self) -> Hop:
        return self.hops[-1]

    def apply_extra_info(self) -> None:
        """Match *ExtraInfo events (headers as on the wire) to hops, in order."""
        requests = list(self.extra_requests)
        for hop in self.hops:
            if hop.raw_request_headers is None and requests and not hop.from_service_worker:
                hop.raw_request_headers = requests.pop(0).get("headers")
        responses = list(self.extra_responses)
        for hop in self.hops:
            if not hop.has_response or hop.raw_response_headers is not None:
                continue
            for i, extra in enumerate(responses):
                if extra.get("statusCode") in (None, hop.status):
                    hop.raw_response_headers = extra.get("headers")
                    hop.headers_text = extra.get("headersText")
                    del responses[i]
                    break
