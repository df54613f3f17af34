"""The one canonical JSON form used for everything we hash or sign.

    UTF-8, keys sorted by code point, no insignificant whitespace (`,` and `:` only),
    non-ASCII characters written as themselves, no floats (integers and strings only).

For the values we write (strings, integers, booleans, null, lists, objects) this is the same
byte string RFC 8785 (JCS) produces, so other tools can recompute it:
    python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True,
                separators=(",", ":"), ensure_ascii=False), end="")'
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def _check(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError("canonical JSON holds no floats: write a string or an integer")
    if isinstance(value, dict):
        for item in value.values():
            _check(item)
    elif isinstance(value, list):
        for item in value:
            _check(item)


def canonical_bytes(value: Any) -> bytes:
    _check(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def canonical_sha256(value: Any) -> str:
    return hashlib.sha256(canonical_bytes(value)).hexdigest()
