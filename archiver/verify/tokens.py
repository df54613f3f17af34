"""RFC 3161 timestamp tokens, verify side: does a stored `.tsr` prove that the root hash
existed at the token's genTime, signed by a TSA whose certificate chains to a trusted root?

The cryptographic work is rfc3161-client's (signature, chain valid at genTime, critical
timeStamping EKU, imprint); this module adds what a report needs: a reason in plain words,
the genTime with its milliseconds, the TSA's name. It also works around two traits of the
library (see `parse_response` and `_helpers`):

- it parses only strict DER, where the SignedData's certificate SET must be sorted; OpenSSL-
  based TSAs send the certificates in chain order. The set is not covered by the signature,
  so we parse a copy with the set sorted (the stored bytes stay exactly as received);
- it puts roots *and* intermediates into one OpenSSL trust store, so a self-signed certificate
  passed as an "intermediate" would be trusted as a root. Self-signed certificates from a
  token or chain file therefore never go in as intermediates; only `roots` (and what the
  caller adds from `tsa_roots.pinned_from`) can anchor a chain.

The sealing side (archiver/seal/timestamps.py) uses `parse_response`, `gen_time_text` and
`embedded_certificates` too, so a token is read the same way when it is stored and later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from rfc3161_client import VerificationError, VerifierBuilder, decode_timestamp_response
from rfc3161_client.tsp import PKIStatus, TimeStampResponse

from .tsa_roots import unique_certificates

SHA256_OID = x509.ObjectIdentifier("2.16.840.1.101.3.4.2.1")

NOT_A_RESPONSE = "not a timestamp response (damaged file?)"
DIFFERENT_HASH = "the token was issued for a different hash"
BAD_SIGNATURE = "the token's signature does not verify"
NO_CHAIN = "the TSA certificate does not chain to a trusted root"


@dataclass
class TokenCheck:
    ok: bool
    gen_time: str | None
    tsa_name: str | None  # subject of the TSA signing cert
    reason: str | None  # one line, when not ok


def check_token(
    tsr: bytes,
    root_hash_hex: str,
    roots: list[x509.Certificate],
    intermediates: list[x509.Certificate],
) -> TokenCheck:
    """Check a whole TimeStampResp (`.tsr` bytes) against a root hash (SHA-256 hex).

    Trust anchors are exactly `roots` (add `tsa_roots.pinned_from(...)` for pinned roots).
    `intermediates` (e.g. the stored chain file) help build the chain; the certificates
    embedded in the token are used as well. Validity is judged at the token's genTime."""
    try:
        expected = bytes.fromhex(root_hash_hex)
    except ValueError:
        expected = b""
    if len(expected) != 32:
        return TokenCheck(False, None, None, "the recorded root hash is not a SHA-256 value")
    try:
        response = parse_response(tsr)
    except ValueError:
        return TokenCheck(False, None, None, NOT_A_RESPONSE)
    if response.status != PKIStatus.GRANTED:
        return TokenCheck(False, None, None, f"the TSA did not grant this token ({status_text(response)})")
    try:
        info = response.tst_info
        algorithm, message = info.message_imprint.hash_algorithm, info.message_imprint.message
        gen_time = gen_time_text(response)
        embedded = embedded_certificates(response)
        signer = _signer(response, embedded + list(intermediates))
    except BaseException as exc:  # noqa: BLE001 - pyo3 panics are BaseException
        _reraise_fatal(exc)
        return TokenCheck(False, None, None, NOT_A_RESPONSE)
    tsa_name = signer.subject.rfc4514_string() if signer is not None else None

    def fail(reason: str) -> TokenCheck:
        return TokenCheck(False, gen_time, tsa_name, reason)

    if algorithm != SHA256_OID:
        return fail(f"the token was made with another hash algorithm than SHA-256 ({algorithm.dotted_string})")
    if message != expected:
        return fail(DIFFERENT_HASH)
    if signer is None:
        return fail("the token does not include the certificate of the TSA that signed it")

    if _signature_is_bad(response, signer):  # before the chain: a forged genTime may also
        return fail(BAD_SIGNATURE)  # make the chain look expired, but forgery is the news
    anchors = unique_certificates(roots)
    if not anchors:
        return fail(f"{NO_CHAIN}: no trusted roots were given")
    helpers = _helpers(intermediates, anchors)
    try:
        builder = VerifierBuilder(roots=anchors, intermediates=helpers)
        if not embedded:  # certReq was false: the signer came from `intermediates`
            builder = builder.tsa_certificate(signer)
        verifier = builder.build()
        verifier.verify(response, expected)
    except VerificationError as exc:
        return fail(_explain(str(exc), signer, embedded + helpers, gen_time))
    except BaseException as exc:  # noqa: BLE001 - ValueError, pyo3 panics
        _reraise_fatal(exc)
        return fail(f"the token could not be checked: {_one_line(exc)}")
    return TokenCheck(True, gen_time, tsa_name, None)


# -- reading tokens (shared with the sealing side) ---------------------------------------------


def parse_response(der: bytes) -> TimeStampResponse:
    """Parse a TimeStampResp; raises ValueError if it is not one. Certificates in a
    non-DER order (common: OpenSSL keeps chain order) are accepted; see module doc."""
    try:
        response = decode_timestamp_response(der)
        response.status  # noqa: B018 - some damage only shows when a field is read
        return response
    except BaseException as exc:  # noqa: BLE001 - pyo3 panics are BaseException
        _reraise_fatal(exc)
        first_error = exc
    try:
        sorted_der = _sort_certificate_set(der)
    except ValueError:
        sorted_der = None
    if sorted_der is not None and sorted_der != der:
        try:
            response = decode_timestamp_response(sorted_der)
            response.status  # noqa: B018
            return response
        except BaseException as exc:  # noqa: BLE001
            _reraise_fatal(exc)
    raise ValueError(f"not a timestamp response: {_one_line(first_error)}")


def gen_time_text(response: TimeStampResponse) -> str:
    """genTime as UTC 'YYYY-MM-DDTHH:MM:SS.mmmZ', with the token's own fraction of a second
    (rfc3161-client's `gen_time` drops it), cut (not rounded) to milliseconds."""
    tst = response.tst_info
    try:
        der = tst.as_bytes()
        # TSTInfo ::= SEQUENCE { version, policy, messageImprint, serialNumber, genTime, ... }
        tag, _, start, end = _children(der, 0)[4]
        if tag != 0x18:
            raise ValueError("no GeneralizedTime")
        text = der[start:end].decode("ascii")
        match = re.fullmatch(r"(\d{14})(?:[.,](\d+))?Z", text)
        if not match:
            raise ValueError(text)
        when = datetime.strptime(match.group(1), "%Y%m%d%H%M%S")
        millis = (match.group(2) or "").ljust(3, "0")[:3]
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + millis + "Z"
    except (ValueError, IndexError, UnicodeDecodeError):
        return format_time(tst.gen_time)


def format_time(value: datetime) -> str:
    """A datetime as UTC 'YYYY-MM-DDTHH:MM:SS.mmmZ' (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def embedded_certificates(response: TimeStampResponse) -> list[x509.Certificate]:
    """The certificates the token carries, in a stable order (DER bytes)."""
    ders = sorted(response.signed_data.certificates)
    return [x509.load_der_x509_certificate(der) for der in ders]


def signer_certificate(
    response: TimeStampResponse, candidates: list[x509.Certificate]
) -> x509.Certificate | None:
    """The certificate among `candidates` that the token's SignerInfo names."""
    return _signer(response, candidates)


def chain_order(leaf: x509.Certificate | None, certs: list[x509.Certificate]) -> list[x509.Certificate]:
    """`certs` with `leaf` first, then its issuers in order, then anything left over."""
    ordered: list[x509.Certificate] = []
    current = leaf if leaf in certs else None
    while current is not None and current not in ordered:
        ordered.append(current)
        if _self_issued(current):
            break
        current = next(
            (c for c in certs if c.subject == current.issuer and c not in ordered and _signed_by(current, c)),
            None,
        )
    return ordered + [c for c in certs if c not in ordered]


def status_text(response: TimeStampResponse) -> str:
    try:
        name = PKIStatus(response.status).name.lower().replace("_", " ")
    except ValueError:
        name = "unknown"
    words = "; ".join(response.status_string)
    return f"status {response.status}, {name}" + (f": {_one_line(words)}" if words else "")


# -- explaining failures -----------------------------------------------------------------------


def _explain(message: str, signer: x509.Certificate, pool: list[x509.Certificate], gen_time: str) -> str:
    """Turn rfc3161-client / OpenSSL wording into one plain sentence."""
    lowered = message.lower()
    subject = signer.subject.rfc4514_string()
    if "certificate verify error" in lowered:
        detail = re.search(r"verify error:([^\"]+)", message, re.IGNORECASE)
        why = detail.group(1).strip().lower() if detail else ""
        if "expired" in why or "not yet valid" in why:
            return f"a certificate of the TSA was not valid at the token's time ({gen_time}): {subject}"
        if "purpose" in why:
            return f"the TSA certificate is not authorised for timestamping: {subject}"
        if "signature" in why and "certificate" in why:
            return f"a certificate in the TSA's chain has a bad signature: {subject}"
        if any(w in why for w in ("issuer", "self-signed", "self signed", "chain")) or not why:
            return f"{NO_CHAIN}: {_missing_root(signer, pool)}"
        return f"the TSA certificate chain is not valid ({why}): {subject}"
    if "eku" in lowered or "keypurposeid" in lowered:
        return f"the TSA certificate is not marked for timestamping only (critical timeStamping EKU): {subject}"
    if "no leaf certificate" in lowered or "neither found" in lowered:
        return "the token does not include the certificate of the TSA that signed it"
    if "mismatch between messages" in lowered:
        return DIFFERENT_HASH
    if "signature" in lowered or "digest" in lowered or "pkcs7" in lowered:
        return BAD_SIGNATURE
    return f"the token does not verify: {_one_line(message)}"


def _missing_root(signer: x509.Certificate, pool: list[x509.Certificate]) -> str:
    """The name of the root the chain leads to: the top certificate's subject if it is
    self-signed, else the issuer it names (which we do not have or do not trust)."""
    top = chain_order(signer, unique_certificates([signer] + pool))
    current = signer
    for cert in top[1:]:
        if cert.subject == current.issuer:
            current = cert
        else:
            break
    return (current.subject if _self_issued(current) else current.issuer).rfc4514_string()


def _signature_is_bad(response: TimeStampResponse, signer: x509.Certificate) -> bool:
    """Our own look at the CMS signature, only to explain a failure well: True when it is
    certainly wrong (content changed, or signature not made by `signer`), False when it is
    right or we cannot tell (the library's verification stays the authority)."""
    try:
        der = bytes(response.time_stamp_token())
        # ContentInfo { contentType, [0] { SignedData } }
        signed_data_pos = _children(der, 0)[1][2]
        fields = _children(der, signed_data_pos)
        # encapContentInfo { eContentType, [0] { OCTET STRING tstInfo } }
        encap = _children(der, fields[2][1])
        octets = _children(der, encap[1][1])[0]
        if octets[0] != 0x04:
            return False
        content = der[octets[2] : octets[3]]
        signer_infos = _children(der, fields[-1][1])
        if fields[-1][0] != 0x31 or len(signer_infos) != 1:
            return False
        info = _children(der, signer_infos[0][1])
        digest_name = _HASHES.get(_oid(der, _children(der, info[2][1])[0]))
        attrs = info[3]
        signature = info[5] if len(info) > 5 else None
        if digest_name is None or attrs[0] != 0xA0 or signature is None or signature[0] != 0x04:
            return False
        algorithm = getattr(hashes, digest_name)()
        digest = hashes.Hash(algorithm)
        digest.update(content)
        content_digest = digest.finalize()
        for _, attr_start, _, _ in _children(der, attrs[1]):
            attr = _children(der, attr_start)
            if _oid(der, attr[0]) == "1.2.840.113549.1.9.4":  # messageDigest
                value = _children(der, attr[1][1])[0]
                if der[value[2] : value[3]] != content_digest:
                    return True
        signed = b"\x31" + der[attrs[1] + 1 : attrs[3]]  # the attributes as a SET OF, signed
        sig = der[signature[2] : signature[3]]
        key = signer.public_key()
        if isinstance(key, rsa.RSAPublicKey):
            if _oid(der, _children(der, info[4][1])[0]) == "1.2.840.113549.1.1.10":
                return False  # RSASSA-PSS: parameters not read here
            key.verify(sig, signed, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(sig, signed, ec.ECDSA(algorithm))
        elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            key.verify(sig, signed)
        else:
            return False
        return False
    except InvalidSignature:
        return True
    except (ValueError, TypeError, UnsupportedAlgorithm):  # cannot tell: the library decides
        return False


_HASHES = {
    "1.3.14.3.2.26": "SHA1",
    "2.16.840.1.101.3.4.2.1": "SHA256",
    "2.16.840.1.101.3.4.2.2": "SHA384",
    "2.16.840.1.101.3.4.2.3": "SHA512",
}


def _oid(der: bytes, tlv: tuple[int, int, int, int]) -> str:
    tag, _, start, end = tlv
    if tag != 0x06 or start >= end:
        raise ValueError("not an OID")
    parts: list[int] = []
    value = 0
    for byte in der[start:end]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    first = min(parts[0] // 40, 2)
    return ".".join(str(p) for p in [first, parts[0] - 40 * first, *parts[1:]])


# -- certificates ------------------------------------------------------------------------------


def _signer(response: TimeStampResponse, candidates: list[x509.Certificate]) -> x509.Certificate | None:
    infos = list(response.signed_data.signer_infos)
    if len(infos) != 1:
        return None
    info = infos[0]
    return next(
        (c for c in candidates if c.issuer == info.issuer and c.serial_number == info.serial_number),
        None,
    )


def _helpers(intermediates: list[x509.Certificate], anchors: list[x509.Certificate]) -> list[x509.Certificate]:
    """Intermediates that may help build a chain: never a self-signed certificate (the
    library would trust it as a root) and nothing already among the anchors."""
    return [c for c in unique_certificates(intermediates) if not _self_issued(c) and c not in anchors]


def _self_issued(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False


# -- minimal DER reading -----------------------------------------------------------------------


def _header(der: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at `pos` (definite lengths only)."""
    if pos + 2 > len(der):
        raise ValueError("truncated")
    tag = der[pos]
    if tag & 0x1F == 0x1F:
        raise ValueError("high tag numbers are not used here")
    first = der[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(der):
            raise ValueError("unsupported length")
        length = int.from_bytes(der[pos : pos + count], "big")
        pos += count
    if pos + length > len(der):
        raise ValueError("truncated")
    return tag, pos, pos + length


def _children(der: bytes, pos: int) -> list[tuple[int, int, int, int]]:
    """The TLVs inside the constructed value at `pos`: (tag, start, content start, end)."""
    _, start, end = _header(der, pos)
    out = []
    while start < end:
        tag, content_start, content_end = _header(der, start)
        out.append((tag, start, content_start, content_end))
        start = content_end
    return out


def _sort_certificate_set(der: bytes) -> bytes:
    """The same TimeStampResp with SignedData.certificates in DER (sorted) order. Lengths do
    not change, so only the bytes inside the set move. Raises ValueError if the layout is
    not the expected one."""
    # TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken ContentInfo }
    resp = _children(der, 0)
    if len(resp) < 2:
        raise ValueError("no token")
    # ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT SignedData }
    content_info = _children(der, resp[1][1])
    if len(content_info) < 2 or content_info[1][0] != 0xA0:
        raise ValueError("no content")
    signed_data_pos = content_info[1][2]
    # SignedData ::= SEQUENCE { version, digestAlgorithms, encapContentInfo,
    #                           certificates [0] IMPLICIT SET OF, crls [1], signerInfos }
    for tag, tlv_start, start, end in _children(der, signed_data_pos):
        if tag == 0xA0:
            elements = [der[s:e] for _, s, _, e in _children(der, tlv_start)]
            width = max((len(e) for e in elements), default=0)
            elements.sort(key=lambda e: e.ljust(width, b"\x00"))  # X.690 11.6
            return der[:start] + b"".join(elements) + der[end:]
    return der


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


def _reraise_fatal(exc: BaseException) -> None:
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        raise exc
