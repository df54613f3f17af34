"""RFC 3161 trusted timestamps, sealing side: ask every configured TSA for a token over the
SHA-256 of an item's `seal.json`, check each answer, store the good ones.

Each TSA is asked in its own thread, so one slow TSA does not delay the others. Every answer
is checked before it is kept: HTTP 200, a TimeStampResp that parses, PKIStatus granted, the
message imprint is SHA-256 of the data, the nonce is the one we sent. A good answer is stored
whole (`<host>.tsr`, the DER bytes exactly as received) beside the certificates it carried
(`<host>.chain.pem`, the signer first). Whether the TSA's certificate chains to a trusted root
is for verify to judge (archiver/verify/tokens.py), not for the seal: a root we do not know
today may be configured later.

Nothing here raises for network trouble: a TSA that cannot be reached, answers badly or not
at all becomes one line in the returned errors, and the item stays pending.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.serialization import Encoding
from rfc3161_client import HashAlgorithm, TimestampRequestBuilder
from rfc3161_client.tsp import PKIStatus, TimeStampResponse

from ..config import TimestampSettings
from ..storage.atomic import atomic_write_bytes
# How a token is read is shared with verify, so both see the same token the same way.
from ..verify.tokens import (
    SHA256_OID,
    chain_order,
    embedded_certificates,
    gen_time_text,
    parse_response,
    signer_certificate,
    status_text,
)

QUERY_TYPE = "application/timestamp-query"
MAX_RESPONSE_BYTES = 1024 * 1024  # real tokens are a few KiB
# Waiting for all TSAs: each request enforces its own deadline (settings.timeout for the
# exchange, after a connect that may itself take settings.timeout); this outer bound also
# covers what httpx cannot time out (a hanging DNS lookup).
OUTER_FACTOR = 2.0
OUTER_SLACK = 1.0


@dataclass
class TokenResult:
    tsa: str  # the TSA URL
    tsr_path: Path  # <dir>/<tsa host>.tsr  (whole TimeStampResp DER bytes as received)
    chain_path: Path  # <dir>/<tsa host>.chain.pem (certificates carried in the token, leaf first)
    gen_time: str  # token genTime, UTC 'YYYY-MM-DDTHH:MM:SS.mmmZ'
    token_sha256: str  # sha256 hex of the .tsr file bytes


class _TSAError(Exception):
    """One TSA failed; the message is the human part after '<tsa>: '."""


@dataclass
class _Answer:
    url: str
    der: bytes
    gen_time: str
    chain_pem: bytes


def request_timestamps(
    data: bytes, out_dir: Path, settings: TimestampSettings
) -> tuple[list[TokenResult], list[str]]:
    """Ask every TSA in `settings.tsa_urls` for a token over sha256(data) and store each good
    one in `out_dir`. Returns (tokens, errors): tokens in the order of the URLs, one error
    line per TSA that failed. Never raises for network problems; returns within about
    2 x settings.timeout + 1 s whatever the network does."""
    urls = list(dict.fromkeys(settings.tsa_urls))
    if not urls:
        return [], []
    digest = hashlib.sha256(data).digest()
    outcomes: dict[int, _Answer | str] = {}
    lock = threading.Lock()

    def work(index: int, url: str) -> None:
        try:
            outcome: _Answer | str = _ask(url, data, digest, settings.timeout)
        except _TSAError as exc:
            outcome = f"{_label(url)}: {exc}"
        except Exception as exc:  # never let one TSA take the seal down
            outcome = f"{_label(url)}: unexpected error: {_one_line(exc)}"
        with lock:
            outcomes[index] = outcome

    threads = [
        threading.Thread(target=work, args=(i, url), name=f"tsa-{i}", daemon=True)
        for i, url in enumerate(urls)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + settings.timeout * OUTER_FACTOR + OUTER_SLACK
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))

    tokens: list[TokenResult] = []
    errors: list[str] = []
    with lock:  # a straggler finishing after this point is ignored (and stores nothing)
        finished = dict(outcomes)
    for index, url in enumerate(urls):
        outcome = finished.get(index)
        if outcome is None:
            errors.append(f"{_label(url)}: no answer within {settings.timeout:g} s")
        elif isinstance(outcome, str):
            errors.append(outcome)
        else:
            try:
                tokens.append(_store(outcome, out_dir))
            except OSError as exc:
                errors.append(f"{_label(url)}: could not store the token: {_one_line(exc)}")
    return tokens, errors


# -- one TSA -----------------------------------------------------------------------------------


def _ask(url: str, data: bytes, digest: bytes, timeout: float) -> _Answer:
    request = (
        TimestampRequestBuilder()
        .data(data)
        .hash_algorithm(HashAlgorithm.SHA256)  # the library's default is SHA-512
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    der = _post(url, request.as_bytes(), timeout)
    response = _parse(der)
    if response.status == PKIStatus.GRANTED_WITH_MODS:  # verify accepts plain grants only
        raise _TSAError(f"granted with modifications, not kept ({status_text(response)})")
    if response.status != PKIStatus.GRANTED:
        raise _TSAError(f"refused the request ({status_text(response)})")
    try:
        info = response.tst_info
        imprint = info.message_imprint
        algorithm, message, nonce = imprint.hash_algorithm, imprint.message, info.nonce
        gen_time = gen_time_text(response)
    except BaseException as exc:  # noqa: BLE001 - pyo3 panics are BaseException
        _reraise_fatal(exc)
        raise _TSAError("the response has no readable token") from None
    if algorithm != SHA256_OID or message != digest:
        raise _TSAError("imprint mismatch (the token is for other data)")
    if nonce != request.nonce:
        raise _TSAError("nonce mismatch (not the answer to our request)")
    return _Answer(url, der, gen_time, _chain_pem(response))


def _post(url: str, body: bytes, timeout: float) -> bytes:
    """POST the query; the whole exchange after connecting must finish by the deadline."""
    headers = {"Content-Type": QUERY_TYPE, "Accept": "application/timestamp-reply"}
    try:
        with httpx.Client(timeout=httpx.Timeout(timeout)) as client:
            with client.stream("POST", url, content=body, headers=headers) as response:
                deadline = time.monotonic() + timeout
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise _TSAError(f"answer larger than {MAX_RESPONSE_BYTES} bytes")
                    if time.monotonic() > deadline:
                        raise _TSAError(f"no complete answer within {timeout:g} s")
                if response.status_code != 200:
                    reason = response.reason_phrase or ""
                    raise _TSAError(f"HTTP {response.status_code} {reason}".rstrip())
                return b"".join(chunks)
    except httpx.TimeoutException:
        raise _TSAError(f"no answer within {timeout:g} s") from None
    except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.NetworkError) as exc:
        raise _TSAError(f"connection failed: {_one_line(exc) or type(exc).__name__}") from None
    except httpx.HTTPError as exc:
        raise _TSAError(f"request failed: {_one_line(exc) or type(exc).__name__}") from None
    except (httpx.InvalidURL, OSError, ValueError) as exc:  # bad URL, odd socket errors
        raise _TSAError(f"request failed: {_one_line(exc) or type(exc).__name__}") from None


def _parse(der: bytes) -> TimeStampResponse:
    if not der:
        raise _TSAError("empty answer")
    try:
        return parse_response(der)
    except ValueError:
        raise _TSAError("the answer is not a timestamp response") from None


def _chain_pem(response: TimeStampResponse) -> bytes:
    """The certificates the token carries, as PEM: the signer first, then its issuers in
    order, then anything else. Empty if the token carries none."""
    try:
        certs = embedded_certificates(response)
        leaf = signer_certificate(response, certs)
    except BaseException as exc:  # noqa: BLE001
        _reraise_fatal(exc)
        raise _TSAError("the token's certificates cannot be read") from None
    return b"".join(c.public_bytes(Encoding.PEM) for c in chain_order(leaf, certs))


# -- storing -----------------------------------------------------------------------------------


def _store(answer: _Answer, out_dir: Path) -> TokenResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    base = _file_stem(answer.url)
    number = 1
    while True:
        stem = base if number == 1 else f"{base}-{number}"
        tsr_path = out_dir / f"{stem}.tsr"
        chain_path = out_dir / f"{stem}.chain.pem"
        if not tsr_path.exists() and not chain_path.exists():
            break
        number += 1
    # chain first: a .tsr on disk always has its chain beside it
    atomic_write_bytes(chain_path, answer.chain_pem)
    atomic_write_bytes(tsr_path, answer.der)
    return TokenResult(
        tsa=answer.url,
        tsr_path=tsr_path,
        chain_path=chain_path,
        gen_time=answer.gen_time,
        token_sha256=hashlib.sha256(answer.der).hexdigest(),
    )


def _file_stem(url: str) -> str:
    """'https://freetsa.org/tsr' -> 'freetsa.org' (the host only; safe as a file name)."""
    host = urlsplit(url).hostname or "tsa"
    return re.sub(r"[^A-Za-z0-9._-]", "_", host).strip(".") or "tsa"


# -- small helpers -----------------------------------------------------------------------------


def _label(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


def _reraise_fatal(exc: BaseException) -> None:
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        raise exc


__all__ = ["TokenResult", "request_timestamps"]
