"""The station identity: an ECDSA P-384 key pair that signs every manifest event.

Created on first use outside the captures folder (config `identity.key_path`), private key
file mode 600. The fingerprint is the SHA-256 (hex) of the public key's DER
SubjectPublicKeyInfo, so anyone can recompute it:
    openssl pkey -pubin -in station.pub.pem -outform DER | sha256sum
Signatures are ECDSA with SHA-384, DER-encoded, base64 — checkable with
    openssl dgst -sha384 -verify station.pub.pem -signature sig.der message
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import UserError

ALGORITHM = "ecdsa-p384-sha384"


def fingerprint_of(public_key: ec.EllipticCurvePublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def public_pem(public_key: ec.EllipticCurvePublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_pem(pem: str) -> ec.EllipticCurvePublicKey:
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("not an EC public key")
    return key


def verify_signature(public_key: ec.EllipticCurvePublicKey, message: bytes, sig_b64: str) -> bool:
    try:
        public_key.verify(base64.b64decode(sig_b64), message, ec.ECDSA(hashes.SHA384()))
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass
class StationIdentity:
    private_key: ec.EllipticCurvePrivateKey
    path: Path

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.public_key)

    @property
    def public_pem(self) -> str:
        return public_pem(self.public_key)

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private_key.sign(message, ec.ECDSA(hashes.SHA384()))).decode()

    @classmethod
    def load_or_create(cls, path: Path) -> "StationIdentity":
        path = path.expanduser()
        if path.exists():
            try:
                key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except (ValueError, TypeError) as exc:
                raise UserError(
                    f"station key {path} cannot be read: {exc}",
                    hint="restore it from your backup, or point identity.key_path elsewhere",
                ) from None
            if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp384r1":
                raise UserError(f"station key {path} is not an ECDSA P-384 key")
            return cls(key, path)
        key = ec.generate_private_key(ec.SECP384R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # never replaces a key another process just created
        except FileExistsError:
            tmp.unlink()
            return cls.load_or_create(path)
        tmp.unlink()
        return cls(key, path)
