"""The package: a file as it is, or a folder zipped deterministically; and its SHA-256.

Same folder, same bytes: entries sorted by their POSIX path, every timestamp 1980-01-01 00:00,
modes fixed (0644, or 0755 for files the owner may execute, so install scripts stay runnable),
no extra fields, one compression level. Hashing and zipping stream in chunks, so memory stays
flat whatever the size.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
EXEC_MODE = 0o755
DIR_MODE = 0o755


@dataclass(frozen=True)
class Package:
    path: Path  # the bytes to upload
    sha256: str
    size: int
    zipped_from: Path | None = None  # the folder it was made from
    md5: bytes = b""  # stored as the blob's Content-MD5 for downstream integrity checks


def digests(path: Path) -> tuple[str, bytes]:
    """SHA-256 (hex) and MD5 (raw) of a file, in one streamed pass."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            sha.update(chunk)
            md5.update(chunk)
    return sha.hexdigest(), md5.digest()


def sha256_file(path: Path) -> str:
    return digests(path)[0]


def _package(path: Path, zipped_from: Path | None = None) -> Package:
    sha, md5 = digests(path)
    return Package(path, sha, path.stat().st_size, zipped_from, md5)


def _entries(folder: Path) -> list[tuple[str, Path]]:
    """(archive name, path) for every file and folder, sorted by archive name."""
    found: list[tuple[str, Path]] = []
    for root, dirs, files in os.walk(folder):
        base = Path(root)
        for name in dirs:
            found.append(((base / name).relative_to(folder).as_posix() + "/", base / name))
        for name in files:
            found.append(((base / name).relative_to(folder).as_posix(), base / name))
    return sorted(found, key=lambda item: item[0])


def _info(name: str, path: Path) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.create_system = 3  # Unix, so external_attr carries the mode
    if name.endswith("/"):
        info.external_attr = (stat.S_IFDIR | DIR_MODE) << 16 | 0x10
        return info
    executable = path.stat().st_mode & stat.S_IXUSR
    info.external_attr = (stat.S_IFREG | (EXEC_MODE if executable else FILE_MODE)) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def zip_folder(folder: Path, target: Path) -> None:
    """Write `folder` as a deterministic zip at `target`."""
    with zipfile.ZipFile(target, "w", compresslevel=6, strict_timestamps=False) as archive:
        for name, path in _entries(folder):
            info = _info(name, path)
            if name.endswith("/"):
                archive.writestr(info, b"")
                continue
            with path.open("rb") as source, archive.open(info, "w", force_zip64=True) as sink:
                shutil.copyfileobj(source, sink, CHUNK)


def prepare(source: Path, work_dir: Path, archive_name: str) -> Package:
    """The package for `source`: the file itself, or a zip of the folder in `work_dir`."""
    if source.is_dir():
        work_dir.mkdir(parents=True, exist_ok=True)
        target = work_dir / archive_name
        zip_folder(source, target)
        return _package(target, zipped_from=source)
    return _package(source)
