"""Seal: hashes, the hash-chained case manifest, station signatures, trusted timestamps."""
