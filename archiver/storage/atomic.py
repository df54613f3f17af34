"""Crash-safe file writes: temp file in the same folder, fsync, rename, fsync the folder.

A reader sees either the old file (or none) or the whole new one, never a torn write.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.part")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = temp_path(path)
    with open(tmp, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def atomic_write_model(path: Path, model: BaseModel) -> None:
    atomic_write_bytes(path, model.model_dump_json(indent=2).encode("utf-8") + b"\n")


class AtomicFile:
    """A file written in pieces that appears under its name only on commit()."""

    def __init__(self, path: Path):
        self.path = path
        self.tmp = temp_path(path)
        self.fh: BinaryIO = open(self.tmp, "xb")

    def write(self, data: bytes) -> int:
        return self.fh.write(data)

    def tell(self) -> int:
        return self.fh.tell()

    def commit(self) -> None:
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        os.replace(self.tmp, self.path)
        fsync_dir(self.path.parent)

    def abort(self) -> None:
        if not self.fh.closed:
            self.fh.close()
        self.tmp.unlink(missing_ok=True)
