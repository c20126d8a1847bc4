"""The persistent cache: what is expensive to build once per machine (a converted model, its compiled kernels).

Where: the ``cache_dir`` option, else the ``SPACY_GOEMOTIONS_CACHE_DIR`` environment variable, else
``$XDG_CACHE_HOME/spacy-goemotions`` (``~/.cache/spacy-goemotions``); ``"off"`` in either turns it off.

An entry is a folder named by a hash of everything that decides its content (the model files' content
hash, the backend and its version, the precision, the CPU where it matters). It is built in a
temporary folder beside it and renamed into place, so two processes building it at once never leave
a half-written entry: the second rename loses and its copy is dropped. A ``manifest.json`` records the
key and each file's size and CRC-32; an entry that does not match it (truncated, overwritten, bit
rot, an older format) is treated as corrupt, removed with a warning and rebuilt, never used.
Checking the CRC of ModernBERT-base's 570 MB converted weights takes about 0.3 s.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError

logger = logging.getLogger("spacy_goemotions")

ENV_VAR = "SPACY_GOEMOTIONS_CACHE_DIR"
OFF = "off"
MANIFEST = "manifest.json"
#: Bytes read at a time when hashing model files.
_CHUNK = 8 << 20
_LOCK = threading.Lock()


def cache_root(option: str | os.PathLike[str] | None = None) -> Path | None:
    """The cache folder in force, or None when caching is off.

    Examples:
        >>> cache_root("off") is None
        True
    """
    value = os.fspath(option) if isinstance(option, os.PathLike) else option if option is not None else os.environ.get(ENV_VAR)
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(f"cache_dir must be a folder path or 'off', got {value!r}. Example: cache_dir='/data/cache'")
    if value is not None and value.strip().lower() == OFF:
        return None
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "spacy-goemotions"


def key_digest(key: Mapping[str, Any]) -> str:
    """A short, stable hash of a JSON-able key."""
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:24]


def cpu_signature() -> str:
    """What compiled kernels depend on: the machine, the CPU model and its instruction sets."""
    return _cpu_signature()


@functools.lru_cache(maxsize=1)
def _cpu_signature() -> str:
    model, flags = "", ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = " ".join(sorted(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return key_digest({"machine": platform.machine(), "processor": platform.processor(), "model": model, "flags": flags})[:16]


def content_hash(files: Sequence[Path], root: Path | None) -> str:
    """The sha256 of the files' contents (in order), remembered in ``root`` by path, size and mtime.

    Hashing ModernBERT-base's 600 MB of weights takes about a second; a later process with the same
    files (same path, size and modification time) reads the remembered hash instead.
    """
    digest = hashlib.sha256()
    memo = _read_memo(root)
    changed = False
    for file in files:
        stat = file.stat()
        memo_key = f"{file.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
        part = memo.get(memo_key)
        if part is None:
            part = memo[memo_key] = _file_hash(file)
            changed = True
        digest.update(part.encode("ascii"))
    if changed and root is not None:
        _write_memo(root, memo)
    return digest.hexdigest()


def _file_crc(file: Path) -> int:
    """CRC-32 of a file: catches corruption (not tampering: the cache is the user's own folder)."""
    crc = 0
    with open(file, "rb") as handle:
        while block := handle.read(_CHUNK):
            crc = zlib.crc32(block, crc)
    return crc


def _file_hash(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _read_memo(root: Path | None) -> dict[str, str]:
    if root is None:
        return {}
    try:
        data = json.loads((root / "file-hashes.json").read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_memo(root: Path, memo: dict[str, str]) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
        with _LOCK:
            handle, temporary = tempfile.mkstemp(dir=root, prefix=".file-hashes-")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(memo, out)
            os.replace(temporary, root / "file-hashes.json")
    except OSError as error:  # a read-only cache still works, it only hashes again
        logger.debug("Could not remember file hashes in %s: %s", root, error)


def entry_path(root: Path, kind: str, key: Mapping[str, Any]) -> Path:
    """The folder of the entry for ``key`` (``root/kind/<hash>``)."""
    return root / kind / key_digest(key)


def read_entry(entry: Path, key: Mapping[str, Any]) -> Path | None:
    """``entry`` if it is complete and matches ``key``; a corrupt or stale one is removed (with a warning)."""
    manifest_file = entry / MANIFEST
    if not manifest_file.is_file():
        if entry.exists():
            discard(entry, "it has no manifest")
        return None
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        if manifest.get("key") != json.loads(json.dumps(key, sort_keys=True, default=str)):
            discard(entry, "its key differs (a stale entry)")
            return None
        files = manifest.get("files")
        if not isinstance(files, dict) or not files:
            discard(entry, "its manifest lists no files")
            return None
        for name, record in files.items():
            file = entry / name
            if file.stat().st_size != record["size"]:
                discard(entry, f"{name} does not have the size its manifest records (a truncated file)")
                return None
            if _file_crc(file) != record["crc32"]:
                discard(entry, f"{name} does not have the checksum its manifest records (a corrupt file)")
                return None
    except (OSError, ValueError, AttributeError, KeyError, TypeError) as error:
        discard(entry, f"its manifest cannot be read ({error})")
        return None
    return entry


def discard(entry: Path, reason: str) -> None:
    """Remove a cache entry that must not be used, saying why (it is rebuilt by the caller)."""
    logger.warning("Rebuilding the cache entry %s: %s", entry, reason)
    shutil.rmtree(entry, ignore_errors=True)


@contextmanager
def building(entry: Path, key: Mapping[str, Any]) -> Iterator[Path]:
    """A temporary folder to write an entry's files into; on success it becomes ``entry`` atomically.

    If another process published the same entry meanwhile, that one is kept and this copy dropped.
    An error inside the block leaves nothing behind.
    """
    entry.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=entry.parent, prefix=f".{entry.name}-"))
    try:
        yield temporary
        files = {p.name: {"size": p.stat().st_size, "crc32": _file_crc(p)} for p in sorted(temporary.iterdir()) if p.is_file()}
        manifest = {"key": json.loads(json.dumps(key, sort_keys=True, default=str)), "files": files}
        (temporary / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        try:
            os.rename(temporary, entry)
        except OSError:  # published by another process first (rename onto a non-empty folder fails)
            if read_entry(entry, key) is None:  # what was in the way was corrupt, and is gone now
                os.rename(temporary, entry)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
