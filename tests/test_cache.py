"""The persistent cache of converted models: where it is, what keys it, atomic writes, corrupt entries rebuilt."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spacy_goemotions import ConfigurationError, EmotionClassifier
from spacy_goemotions.core import cache

needs_openvino = pytest.mark.skipif(importlib.util.find_spec("openvino") is None, reason="needs the openvino extra")

TEXTS = ["Thank you so much, this made my day!", "lol", None, "Why would anyone do that? I am so annoyed."]


# --- where -------------------------------------------------------------------------------------


def test_the_root_is_the_option_then_the_environment_then_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "from-env"))
    assert cache.cache_root(str(tmp_path / "from-option")) == tmp_path / "from-option"
    assert cache.cache_root() == tmp_path / "from-env"
    monkeypatch.delenv(cache.ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_root() == tmp_path / "xdg" / "spacy-goemotions"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_root() == tmp_path / "home" / ".cache" / "spacy-goemotions"


def test_off_turns_it_off_from_the_option_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert cache.cache_root("off") is None
    assert cache.cache_root(" OFF ") is None
    monkeypatch.setenv(cache.ENV_VAR, "off")
    assert cache.cache_root() is None


def test_a_bad_cache_dir_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="cache_dir must be a folder path or 'off'"):
        EmotionClassifier(cache_dir=42)  # type: ignore[arg-type]


# --- keys --------------------------------------------------------------------------------------


def test_keys_are_stable_and_change_with_any_part() -> None:
    key = {"content": "abc", "openvino": "2026.1", "kind": "ir"}
    assert cache.key_digest(key) == cache.key_digest(dict(reversed(list(key.items()))))  # order does not matter
    for part, other in (("content", "abd"), ("openvino", "2026.2"), ("kind", "int8")):
        assert cache.key_digest({**key, part: other}) != cache.key_digest(key), part


def test_the_content_hash_follows_the_bytes_not_the_name(tmp_path: Path) -> None:
    first, second = tmp_path / "a.bin", tmp_path / "b.bin"
    first.write_bytes(b"weights" * 1000)
    second.write_bytes(b"weights" * 1000)
    assert cache.content_hash([first], None) == cache.content_hash([second], None)
    second.write_bytes(b"weights" * 999 + b"weightz")
    assert cache.content_hash([first], None) != cache.content_hash([second], None)


def test_the_content_hash_is_remembered_by_path_size_and_mtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, weights = tmp_path / "cache", tmp_path / "model.safetensors"
    weights.write_bytes(b"x" * 5000)
    expected = cache.content_hash([weights], root)
    reads: list[Path] = []
    original = cache._file_hash
    monkeypatch.setattr(cache, "_file_hash", lambda file: reads.append(file) or original(file))
    assert cache.content_hash([weights], root) == expected and reads == []  # remembered: not read again
    weights.write_bytes(b"y" * 5000)  # same size, new mtime: read again, new hash
    os.utime(weights, ns=(1, 1))
    assert cache.content_hash([weights], root) != expected and reads == [weights]


def test_the_cpu_signature_is_short_and_stable() -> None:
    assert cache.cpu_signature() == cache.cpu_signature() and len(cache.cpu_signature()) == 16


# --- entries: atomic, checked ------------------------------------------------------------------


def write_entry(root: Path, key: dict[str, Any], payload: bytes = b"payload" * 100) -> Path:
    entry = cache.entry_path(root, "test", key)
    with cache.building(entry, key) as folder:
        (folder / "model.bin").write_bytes(payload)
    return entry


def test_an_entry_is_published_whole_with_a_manifest(tmp_path: Path) -> None:
    key = {"content": "abc"}
    entry = write_entry(tmp_path, key)
    assert cache.read_entry(entry, key) == entry
    manifest = json.loads((entry / cache.MANIFEST).read_text(encoding="utf-8"))
    assert manifest["key"] == key and manifest["files"]["model.bin"]["size"] == 700
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]  # no temporary folder left behind


def test_an_error_while_building_leaves_nothing(tmp_path: Path) -> None:
    key = {"content": "abc"}
    entry = cache.entry_path(tmp_path, "test", key)
    with pytest.raises(RuntimeError, match="conversion failed"), cache.building(entry, key) as folder:
        (folder / "model.bin").write_bytes(b"half")
        raise RuntimeError("conversion failed")
    assert not entry.exists() and list(entry.parent.iterdir()) == []


@pytest.mark.slow
def test_two_processes_building_one_entry_at_once_leave_one_whole_entry(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from spacy_goemotions.core import cache
        key = {{"content": "shared"}}
        entry = cache.entry_path(Path({str(tmp_path)!r}), "test", key)
        with cache.building(entry, key) as folder:
            with open(folder / "model.bin", "wb") as out:
                for _ in range(50):  # slow, interleaved writes of the same content
                    out.write(b"w" * 10000)
                    out.flush()
                    time.sleep(0.002)
        print(cache.read_entry(entry, key) is not None)
    """)
    runs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [run.communicate(timeout=120)[0].strip() for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0] and outputs == ["True"] * 3
    entry = cache.entry_path(tmp_path, "test", {"content": "shared"})
    assert cache.read_entry(entry, {"content": "shared"}) == entry
    assert (entry / "model.bin").stat().st_size == 500_000
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]


@pytest.mark.parametrize("damage", ["truncate", "flip", "no-manifest", "bad-manifest", "other-key"])
def test_a_damaged_or_stale_entry_is_discarded_with_a_warning(tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    key = {"content": "abc"}
    entry = write_entry(tmp_path, key)
    payload = entry / "model.bin"
    if damage == "truncate":
        payload.write_bytes(payload.read_bytes()[:-10])
    elif damage == "flip":
        data = bytearray(payload.read_bytes())
        data[100] ^= 0xFF
        payload.write_bytes(bytes(data))
    elif damage == "no-manifest":
        (entry / cache.MANIFEST).unlink()
    elif damage == "bad-manifest":
        (entry / cache.MANIFEST).write_text("{not json", encoding="utf-8")
    else:
        manifest = json.loads((entry / cache.MANIFEST).read_text(encoding="utf-8"))
        manifest["key"] = {"content": "older"}
        (entry / cache.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="spacy_goemotions"):
        assert cache.read_entry(entry, key) is None
    assert not entry.exists()
    assert "Rebuilding the cache entry" in caplog.text
    assert cache.read_entry(write_entry(tmp_path, key), key) is not None  # and it can be built again


# --- the OpenVINO conversion through the cache -------------------------------------------------


def cached_entries(root: Path, kind: str = "openvino-ir") -> list[Path]:
    folder = root / kind
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".")) if folder.exists() else []


@pytest.mark.slow
@needs_openvino
def test_a_second_process_reads_the_conversion_and_never_loads_the_torch_weights(tiny_model: str, tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import json, sys
        import numpy as np
        import spacy_goemotions.backends.openvino_tracing as export
        from spacy_goemotions import EmotionClassifier
        converted = []
        original = export.convert
        export.convert = lambda loaded: converted.append(1) or original(loaded)
        clf = EmotionClassifier({tiny_model!r}, backend="openvino", dtype="float32", progress=False)
        np.save(sys.argv[1], clf.scores({TEXTS!r}))
        print(json.dumps({{"converted": len(converted), "weights_loaded": clf.loaded.weights_loaded}}))
    """)
    env = {**os.environ, cache.ENV_VAR: str(tmp_path / "cache")}
    runs = []
    for name in ("cold", "warm"):
        done = subprocess.run([sys.executable, "-c", script, str(tmp_path / f"{name}.npy")], env=env, capture_output=True,
                              text=True, check=True)  # fmt: skip
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert runs[0]["converted"] == 1 and runs[1] == {"converted": 0, "weights_loaded": False}
    cold, warm = np.load(tmp_path / "cold.npy"), np.load(tmp_path / "warm.npy")
    np.testing.assert_array_equal(cold, warm)  # cold and warm runs compile the same stored IR
    assert len(cached_entries(tmp_path / "cache")) == 1
    assert (tmp_path / "cache" / "compiled" / cache.cpu_signature()).is_dir()  # OpenVINO's own kernel cache


@pytest.mark.slow
@needs_openvino
def test_a_corrupt_conversion_is_rebuilt_with_a_warning_and_the_same_scores(
    tiny_model: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import spacy_goemotions.backends.openvino as ov_backend

    root = tmp_path / "cache"
    expected = EmotionClassifier(tiny_model, backend="openvino", dtype="float32", cache_dir=str(root), progress=False).scores(TEXTS)
    (entry,) = cached_entries(root)
    weights = entry / "model.bin"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x55  # one flipped byte: same size, wrong scores if it were used
    weights.write_bytes(bytes(data))
    ov_backend._MODULES.clear()  # as in a new process
    with caplog.at_level(logging.WARNING, logger="spacy_goemotions"):
        got = EmotionClassifier(tiny_model, backend="openvino", dtype="float32", cache_dir=str(root), progress=False).scores(TEXTS)
    assert "checksum" in caplog.text and "Rebuilding" in caplog.text
    np.testing.assert_array_equal(got, expected)
    assert len(cached_entries(root)) == 1 and cache.read_entry(entry, json.loads((entry / cache.MANIFEST).read_text())["key"])


@pytest.mark.slow
@needs_openvino
def test_an_unwritable_cache_still_scores_from_memory(tiny_model: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("in the way", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="spacy_goemotions"):
        got = EmotionClassifier(tiny_model, backend="openvino", dtype="float32", cache_dir=str(blocked / "cache"),
                                progress=False).scores(TEXTS)  # fmt: skip
    expected = EmotionClassifier(tiny_model, backend="torch", dtype="float32", progress=False).scores(TEXTS)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert "Could not store the converted model" in caplog.text


@pytest.mark.slow
@needs_openvino
def test_cache_off_converts_in_memory_and_writes_nothing(tiny_model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    got = EmotionClassifier(tiny_model, backend="openvino", dtype="float32", cache_dir="off", batch_size=3, progress=False)
    got.scores(TEXTS)
    assert not (tmp_path / "xdg").exists() and not (tmp_path / "home").exists()
