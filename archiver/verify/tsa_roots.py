"""Which roots verify trusts for RFC 3161 timestamps.

1. PEM files the user names (`timestamp.trusted_roots`, `--tsa-root`);
2. the Mozilla root store shipped with `certifi` (DigiCert, Sectigo, ... chain to these);
3. roots pinned here by SHA-256 fingerprint: TSAs whose self-signed root is in no browser
   store. We keep no certificate files for them: such TSAs send their root inside every
   token, so `pinned_from(certificates of the token or its chain file)` finds it, and the
   fingerprint decides whether it is the one we mean.

Only these anchor a chain: a self-signed certificate that merely arrives with a token is not
trusted unless its fingerprint is pinned.
"""

from __future__ import annotations

import functools
import warnings
import re
from pathlib import Path

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

# SHA-256 over the DER certificate, lowercase hex -> what it is.
PINNED_ROOTS: dict[str, str] = {
    "a6379e7cecc05faa3cbf076013d745e327bbbaa38c0b9af22469d4701d18aabc": (
        "FreeTSA.org root CA (self-signed; https://freetsa.org/files/cacert.pem)"
    ),
}

_PEM_BLOCK = re.compile(
    rb"-----BEGIN CERTIFICATE-----\s+.*?-----END CERTIFICATE-----", re.DOTALL
)


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, lowercase hex (what `openssl x509 -fingerprint
    -sha256` prints, without the colons)."""
    return cert.fingerprint(hashes.SHA256()).hex()


def trusted_roots(extra_pem_paths: list[Path]) -> list[x509.Certificate]:
    """The certificates in `extra_pem_paths` (each must hold at least one), then the
    certifi roots; no duplicates. Pinned roots come from `pinned_from` (see module doc).
    Raises OSError for a file that cannot be read, ValueError for one without certificates."""
    roots: list[x509.Certificate] = []
    for path in extra_pem_paths:
        path = Path(path).expanduser()
        certs = load_pem_certificates(path.read_bytes())
        if not certs:
            raise ValueError(f"{path}: no PEM certificate in this file")
        roots += certs
    roots += list(_certifi_roots())
    return unique_certificates(roots)


def pinned_from(certs: list[x509.Certificate]) -> list[x509.Certificate]:
    """Those of `certs` whose SHA-256 fingerprint is pinned (add them to the roots)."""
    return unique_certificates([c for c in certs if fingerprint(c) in PINNED_ROOTS])


def load_pem_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle that parses; others are skipped (a store with one
    odd old certificate should not lose the rest)."""
    certs = []
    with warnings.catch_warnings():  # an old root with a non-positive serial: still a root
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        for block in _PEM_BLOCK.findall(data):
            try:
                certs.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                continue
    return certs


@functools.lru_cache(maxsize=1)
def _certifi_roots() -> tuple[x509.Certificate, ...]:
    try:
        import certifi
    except ImportError:  # httpx brings certifi; without it, only the other roots count
        return ()
    try:
        return tuple(load_pem_certificates(Path(certifi.where()).read_bytes()))
    except OSError:
        return ()


def unique_certificates(certs: list[x509.Certificate]) -> list[x509.Certificate]:
    """The certificates without repeats (by DER bytes), in their first order."""
    seen: set[bytes] = set()
    out = []
    for cert in certs:
        der = cert.public_bytes(Encoding.DER)
        if der not in seen:
            seen.add(der)
            out.append(cert)
    return out
