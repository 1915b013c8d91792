"""The content repository's file work, run on worker threads: durable writes (fsync of
the file and of each directory that gained an entry, then an atomic rename), removal,
and the sweep of what crashed uploads left in ``tmp/``."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO


def make_dirs(path: Path) -> None:
    """Create ``path`` and any missing parents, fsyncing each parent that gained an
    entry, so a new directory is as durable as the file later renamed into it."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir()
        sync_dir(directory.parent)


def sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def flush_and_sync(out: BinaryIO) -> None:
    out.flush()
    os.fsync(out.fileno())


def move_into_place(tmp: str, final: Path) -> None:
    make_dirs(final.parent)
    os.replace(tmp, final)
    sync_dir(final.parent)


def write_atomically(tmp_dir: Path, final: Path, data: bytes) -> None:
    make_dirs(tmp_dir)
    make_dirs(final.parent)
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="thumb-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(name, final)
    except BaseException:
        discard(name)
        raise


def discard(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def sweep_tmp(tmp_dir: Path, before: float) -> None:
    """Remove what crashed uploads left behind (once per process)."""
    for entry in tmp_dir.iterdir():
        with contextlib.suppress(OSError):
            if entry.is_file() and entry.stat().st_mtime < before:
                entry.unlink()


def open_file(path: Path) -> tuple[BinaryIO, int]:
    """The open file and its size (from the handle, so it matches what will be sent)."""
    handle = open(path, "rb")  # noqa: SIM115 - closed by the response that streams it
    return handle, os.fstat(handle.fileno()).st_size


def remove_media_files(content: Path, thumbnail_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        content.unlink()
    shutil.rmtree(thumbnail_dir, ignore_errors=True)
