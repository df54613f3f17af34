"""RFC 3161 timestamps against a real TSA on 127.0.0.1 (`openssl ts -reply`): requesting and
storing tokens, checking them the way verify does, and with the standard `openssl ts` tool
the way our docs tell a third party to."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import subprocess
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from fixtures.tsa import LocalTSA, settings
from rfc3161_client import VerifierBuilder, decode_timestamp_response

from archiver.seal.timestamps import TokenResult, request_timestamps
from archiver.verify import tsa_roots
from archiver.verify.tokens import check_token, parse_response
from archiver.verify.tsa_roots import pinned_from, trusted_roots

DATA = b'[{"media_type":"text/plain","path":"a.txt","phash":null,"sha256":"00","size":1}]'
ROOT_HASH = hashlib.sha256(DATA).hexdigest()
GEN_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    with LocalTSA(tmp_path_factory.mktemp("tsa")) as server:
        yield server


@pytest.fixture(scope="module")
def stamped(tsa, tmp_path_factory) -> tuple[TokenResult, Path]:
    """One token over DATA, and the file holding DATA (for openssl)."""
    folder = tmp_path_factory.mktemp("item")
    tokens, errors = request_timestamps(DATA, folder / "timestamps", settings([tsa.url]))
    assert errors == [] and len(tokens) == 1
    data_file = folder / "seal.json"
    data_file.write_bytes(DATA)
    return tokens[0], data_file


def openssl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)


def flipped(data: bytes, pos: int) -> bytes:
    damaged = bytearray(data)
    damaged[pos] ^= 0x01
    return bytes(damaged)


# -- requesting and storing --------------------------------------------------------------------


def test_token_is_stored_whole_with_its_chain(tsa, stamped):
    token, _ = stamped
    assert token.tsa == tsa.url
    assert token.tsr_path.name == "127.0.0.1.tsr"
    assert token.chain_path.name == "127.0.0.1.chain.pem"
    raw = token.tsr_path.read_bytes()
    assert token.token_sha256 == hashlib.sha256(raw).hexdigest()
    assert GEN_TIME.fullmatch(token.gen_time)
    # the whole TimeStampResp, as openssl made it: status granted, our imprint
    response = decode_timestamp_response(raw)
    assert response.status == 0
    assert response.tst_info.message_imprint.message == hashlib.sha256(DATA).digest()
    # genTime keeps the token's milliseconds (rfc3161-client's gen_time drops them)
    assert token.gen_time[:19] == response.tst_info.gen_time.strftime("%Y-%m-%dT%H:%M:%S")
    chain = x509.load_pem_x509_certificates(token.chain_path.read_bytes())
    assert chain == [tsa.tsa_cert]
    assert not list(token.tsr_path.parent.glob(".*"))  # no temp files left behind


def test_never_overwrites_a_token(tsa, tmp_path):
    out = tmp_path / "timestamps"
    first, _ = request_timestamps(DATA, out, settings([tsa.url]))
    before = first[0].tsr_path.read_bytes()
    second, errors = request_timestamps(DATA, out, settings([tsa.url]))
    assert errors == []
    assert second[0].tsr_path.name == "127.0.0.1-2.tsr"
    assert second[0].chain_path.name == "127.0.0.1-2.chain.pem"
    assert first[0].tsr_path.read_bytes() == before


def test_two_tsas_one_down(tsa, tmp_path, free_port):
    down = f"http://127.0.0.1:{free_port}/tsr"
    tokens, errors = request_timestamps(DATA, tmp_path, settings([down, tsa.url]))
    assert [t.tsa for t in tokens] == [tsa.url]
    assert len(errors) == 1 and errors[0].startswith(f"127.0.0.1:{free_port}: connection failed")


def test_offline_returns_errors_quickly(tmp_path, free_port):
    started = time.monotonic()
    tokens, errors = request_timestamps(
        DATA, tmp_path / "timestamps", settings([f"http://127.0.0.1:{free_port}/"], timeout=2.0)
    )
    assert time.monotonic() - started < 2.0
    assert tokens == []
    assert len(errors) == 1 and "connection failed" in errors[0]
    assert "\n" not in errors[0]
    assert not list(tmp_path.rglob("*.tsr"))


def test_silent_tsa_times_out(tsa, tmp_path):
    tsa.silent = True
    try:
        started = time.monotonic()
        tokens, errors = request_timestamps(DATA, tmp_path, settings([tsa.url], timeout=0.5))
        elapsed = time.monotonic() - started
    finally:
        tsa.silent = False
    assert tokens == [] and errors == [f"127.0.0.1:{tsa.port}: no answer within 0.5 s"]
    assert elapsed < 0.5 * 2 + 1


def test_http_error(tsa, tmp_path):
    tsa.fail = True
    try:
        tokens, errors = request_timestamps(DATA, tmp_path, settings([tsa.url]))
    finally:
        tsa.fail = False
    assert tokens == [] and errors == [f"127.0.0.1:{tsa.port}: HTTP 500 Internal Server Error"]


def test_answers_are_checked_before_storing(tsa, stamped, tmp_path):
    token, _ = stamped
    old = token.tsr_path.read_bytes()
    cases = [
        (old, DATA, "nonce mismatch"),  # a replayed answer: right data, not our request
        (old, b"other data", "imprint mismatch"),  # a token for something else
        (b"<html>busy</html>", DATA, "not a timestamp response"),
    ]
    for reply, data, expected in cases:
        tsa.reply = reply
        try:
            tokens, errors = request_timestamps(data, tmp_path, settings([tsa.url]))
        finally:
            tsa.reply = None
        assert tokens == [] and len(errors) == 1 and expected in errors[0], errors
    assert not list(tmp_path.iterdir())


def test_rejection_is_reported(tsa, tmp_path):
    tsa.reply = _rejection()
    try:
        tokens, errors = request_timestamps(DATA, tmp_path, settings([tsa.url]))
    finally:
        tsa.reply = None
    assert tokens == [] and "refused the request (status 2, rejection" in errors[0]


def _rejection() -> bytes:
    # TimeStampResp { status PKIStatusInfo { status 2 (rejection), statusString "busy" } }
    status_string = b"\x0c\x04busy"
    info = b"\x02\x01\x02" + b"\x30" + bytes([len(status_string)]) + status_string
    status = b"\x30" + bytes([len(info)]) + info
    return b"\x30" + bytes([len(status)]) + status


# -- checking tokens (verify side) -------------------------------------------------------------


def test_check_token_against_the_test_root(tsa, stamped):
    token, _ = stamped
    result = check_token(token.tsr_path.read_bytes(), ROOT_HASH, [tsa.ca_cert], [])
    assert result.ok, result.reason
    assert result.gen_time == token.gen_time
    assert result.tsa_name == "CN=Archiver Test TSA,O=Archiver Test Fixtures"
    assert result.reason is None


def test_trusted_roots_from_a_pem_file(tsa, stamped):
    token, _ = stamped
    roots = trusted_roots([tsa.ca_cert_path])
    assert roots[0] == tsa.ca_cert and len(roots) > 100  # then the certifi roots
    assert check_token(token.tsr_path.read_bytes(), ROOT_HASH, roots, []).ok


def test_certifi_roots_alone_do_not_trust_the_test_tsa(tsa, stamped):
    token, _ = stamped
    chain = x509.load_pem_x509_certificates(token.chain_path.read_bytes())
    result = check_token(token.tsr_path.read_bytes(), ROOT_HASH, trusted_roots([]), chain)
    assert not result.ok
    assert result.reason == (
        "the TSA certificate does not chain to a trusted root: "
        "CN=Archiver Test TSA Root,O=Archiver Test Fixtures"
    )
    assert result.gen_time == token.gen_time  # still reported, for the report


def test_self_signed_intermediate_is_not_a_root(tsa, stamped):
    """rfc3161-client puts intermediates into its trust store: a self-signed certificate
    passed as an intermediate would anchor the chain. check_token must not let it."""
    token, _ = stamped
    raw = token.tsr_path.read_bytes()
    with LocalTSA() as other:
        unrelated = other.ca_cert  # any root; the library needs one
    library = VerifierBuilder(roots=[unrelated], intermediates=[tsa.ca_cert]).build()
    assert library.verify(decode_timestamp_response(raw), bytes.fromhex(ROOT_HASH))  # the trap
    result = check_token(raw, ROOT_HASH, [unrelated], [tsa.ca_cert])
    assert not result.ok and result.reason.startswith("the TSA certificate does not chain")


def test_pinned_root_from_the_chain(tsa, stamped, monkeypatch):
    token, _ = stamped
    assert pinned_from([tsa.ca_cert, tsa.tsa_cert]) == []
    assert tsa_roots.fingerprint(tsa.ca_cert) == hashlib.sha256(
        tsa.ca_cert.public_bytes(Encoding.DER)
    ).hexdigest()
    monkeypatch.setitem(tsa_roots.PINNED_ROOTS, tsa_roots.fingerprint(tsa.ca_cert), "test root")
    chain = [tsa.tsa_cert, tsa.ca_cert]  # as a FreeTSA chain file: leaf, then its root
    pinned = pinned_from(chain)
    assert pinned == [tsa.ca_cert]
    assert check_token(token.tsr_path.read_bytes(), ROOT_HASH, trusted_roots([]) + pinned, chain).ok


def test_freetsa_root_is_pinned():
    assert "a6379e7cecc05faa3cbf076013d745e327bbbaa38c0b9af22469d4701d18aabc" in tsa_roots.PINNED_ROOTS


def test_token_without_certificates(tsa):
    from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

    query = (TimestampRequestBuilder().data(DATA).hash_algorithm(HashAlgorithm.SHA256)
             .cert_request(cert_request=False).build())
    raw = tsa.stamp(query.as_bytes())
    assert decode_timestamp_response(raw).signed_data.certificates == set()
    result = check_token(raw, ROOT_HASH, [tsa.ca_cert], [])
    assert result.reason == "the token does not include the certificate of the TSA that signed it"
    assert check_token(raw, ROOT_HASH, [tsa.ca_cert], [tsa.tsa_cert]).ok  # from a chain file


def test_wrong_root_hash(tsa, stamped):
    token, _ = stamped
    result = check_token(token.tsr_path.read_bytes(), "ab" * 32, [tsa.ca_cert], [])
    assert not result.ok and result.reason == "the token was issued for a different hash"


def test_flipped_byte_in_the_signature(tsa, stamped):
    token, _ = stamped
    raw = token.tsr_path.read_bytes()
    result = check_token(flipped(raw, len(raw) - 1), ROOT_HASH, [tsa.ca_cert], [])
    assert not result.ok and result.reason == "the token's signature does not verify"


def test_forged_time(tsa, stamped):
    token, _ = stamped
    raw = token.tsr_path.read_bytes()
    stamp = token.gen_time[:4] + token.gen_time[5:7] + token.gen_time[8:10]  # YYYYMMDD
    at = raw.index(stamp.encode()) + 3  # the last digit of the year
    result = check_token(flipped(raw, at), ROOT_HASH, [tsa.ca_cert], [])
    assert not result.ok and result.reason == "the token's signature does not verify"
    assert result.gen_time != token.gen_time  # the forged time is what the token now says


def test_rsa_tsa(tmp_path):
    with LocalTSA(tmp_path, key_type="rsa") as rsa_tsa:
        tokens, errors = request_timestamps(DATA, tmp_path / "ts", settings([rsa_tsa.url]))
        assert errors == []
        raw = tokens[0].tsr_path.read_bytes()
        assert check_token(raw, ROOT_HASH, [rsa_tsa.ca_cert], []).ok
        result = check_token(flipped(raw, len(raw) - 1), ROOT_HASH, [rsa_tsa.ca_cert], [])
        assert result.reason == "the token's signature does not verify"


def test_damaged_file(tsa, stamped):
    token, _ = stamped
    raw = token.tsr_path.read_bytes()
    for damaged in (raw[: len(raw) // 2], flipped(raw, 1), b"", b"hello"):
        result = check_token(damaged, ROOT_HASH, [tsa.ca_cert], [])
        assert not result.ok and result.reason == "not a timestamp response (damaged file?)"


def test_tsa_certificate_expired_before_the_token(tmp_path):
    past = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    with LocalTSA(tmp_path, tsa_not_before=past, tsa_not_after=past + dt.timedelta(days=365)) as old:
        tokens, errors = request_timestamps(DATA, tmp_path / "ts", settings([old.url]))
        assert errors == []  # openssl signs with it; the seal does not judge trust
        result = check_token(tokens[0].tsr_path.read_bytes(), ROOT_HASH, [old.ca_cert], [])
    assert not result.ok
    assert result.reason.startswith("a certificate of the TSA was not valid at the token's time")


def test_tokens_with_the_ca_embedded_in_chain_order(tmp_path):
    """OpenSSL (like many TSAs) sends the certificates leaf first, which is not DER order;
    rfc3161-client alone refuses such a reply. We keep the bytes as received and still read it."""
    with LocalTSA(tmp_path, embed_ca=True) as full:
        tokens, errors = request_timestamps(DATA, tmp_path / "ts", settings([full.url]))
        assert errors == []
        raw = tokens[0].tsr_path.read_bytes()
        with pytest.raises(ValueError, match="InvalidSetOrdering"):
            decode_timestamp_response(raw)
        assert parse_response(raw).status == 0
        chain = x509.load_pem_x509_certificates(tokens[0].chain_path.read_bytes())
        assert chain == [full.tsa_cert, full.ca_cert]  # leaf first
        assert check_token(raw, ROOT_HASH, [full.ca_cert], chain).ok
        # the embedded self-signed CA is not trusted just because it came with the token
        assert not check_token(raw, ROOT_HASH, trusted_roots([]), chain).ok
        data_file = tmp_path / "seal.json"
        data_file.write_bytes(DATA)
        done = openssl("ts", "-verify", "-data", str(data_file), "-in", str(tokens[0].tsr_path),
                       "-CAfile", str(full.ca_cert_path))
        assert done.returncode == 0 and "Verification: OK" in done.stdout


# -- the standard tool -------------------------------------------------------------------------


def test_openssl_verifies_a_stored_token(tsa, stamped):
    token, data_file = stamped
    command = ["ts", "-verify", "-data", str(data_file), "-in", str(token.tsr_path),
               "-CAfile", str(tsa.ca_cert_path), "-untrusted", str(token.chain_path)]
    done = openssl(*command)
    assert done.returncode == 0, done.stderr
    assert "Verification: OK" in done.stdout
    # -untrusted is not needed: the token carries the TSA certificate (certReq was true)
    done = openssl(*command[:-2])
    assert done.returncode == 0 and "Verification: OK" in done.stdout
    # other data: refused
    other = data_file.with_name("other.json")
    other.write_bytes(DATA + b" ")
    done = openssl("ts", "-verify", "-data", str(other), "-in", str(token.tsr_path),
                   "-CAfile", str(tsa.ca_cert_path))
    assert done.returncode != 0 and "Verification: FAILED" in done.stdout


def test_openssl_after_tsa_certificate_expiry_needs_attime(tsa, stamped):
    token, data_file = stamped
    later = tsa.tsa_cert.not_valid_after_utc + dt.timedelta(days=1)
    base = ["ts", "-verify", "-data", str(data_file), "-in", str(token.tsr_path),
            "-CAfile", str(tsa.ca_cert_path)]
    done = openssl(*base, "-attime", str(int(later.timestamp())))  # "now" after expiry
    assert done.returncode != 0 and "certificate has expired" in done.stderr
    gen = dt.datetime.strptime(token.gen_time, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)
    done = openssl(*base, "-attime", str(int(gen.timestamp())))
    assert done.returncode == 0 and "Verification: OK" in done.stdout
    # check_token always judges at genTime, so it is unaffected by expiry
    assert check_token(token.tsr_path.read_bytes(), ROOT_HASH, [tsa.ca_cert], []).ok


def test_openssl_prints_the_time_stamp(stamped):
    token, _ = stamped
    done = openssl("ts", "-reply", "-in", str(token.tsr_path), "-text")
    assert done.returncode == 0, done.stderr
    assert "Status: Granted." in done.stdout
    # e.g. "Time stamp: Nov 25 13:01:04.584 2026 GMT" (DER drops trailing zeros: .5, none)
    shown = re.search(r"Time stamp: (\w+) +(\d+) (\d\d:\d\d:\d\d)(\.\d+)? (\d{4}) GMT", done.stdout)
    assert shown, done.stdout
    month, day, clock, fraction, year = shown.groups()
    when = dt.datetime.strptime(f"{month} {day} {year} {clock}", "%b %d %Y %H:%M:%S")
    millis = (fraction or ".")[1:].ljust(3, "0")[:3]
    assert when.strftime("%Y-%m-%dT%H:%M:%S.") + millis + "Z" == token.gen_time
