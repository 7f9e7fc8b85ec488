"""Kokoro model files: where they are found, and downloads up to the network boundary (a
local HTTP server in the test serves the files, cuts connections, or lies about them)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from voices.models import (
    KOKORO_MODELS,
    KOKORO_VOICES,
    DownloadError,
    ModelUnavailable,
    Progress,
    bundled_dir,
    download,
    fetch_kokoro,
    kokoro_dir,
    resolve_kokoro,
)


@dataclass
class FileServer:
    files: dict[str, bytes]
    cut_after: int | None = None  # bytes of body sent before the next response is cut
    ranges: list[str | None] = field(default_factory=list)
    url: str = ""


@contextlib.contextmanager
def serve_files(server: FileServer) -> Iterator[FileServer]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = server.files.get(self.path.rsplit("/", 1)[-1])
            if body is None:
                self.send_error(404)
                return
            wanted = self.headers.get("Range")
            server.ranges.append(wanted)
            start = int(wanted.removeprefix("bytes=").split("-")[0]) if wanted else 0
            self.send_response(206 if wanted else 200)
            if wanted:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            rest = body[start:]
            if server.cut_after is not None:
                cut, server.cut_after = server.cut_after, None
                self.wfile.write(rest[:cut])
                self.wfile.flush()
                self.connection.shutdown(2)  # the connection drops mid-body
                return
            self.wfile.write(rest)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}/files"
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Recorder(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_download_shows_progress_and_renames_only_the_checked_file(tmp_path: Path) -> None:
    body = os.urandom(3 * 1024 * 1024 + 17)
    out = Recorder()
    with serve_files(FileServer({"model.onnx": body})) as server:
        path = download(
            f"{server.url}/model.onnx",
            tmp_path / "model.onnx",
            sha256=_sha(body),
            size=len(body),
            progress=lambda name, total: Progress(name, total, out),
        )
    assert path.read_bytes() == body
    assert not (tmp_path / "model.onnx.part").exists()
    lines = out.getvalue().splitlines()
    assert lines[0] == "model.onnx: 0.0/3.1 MB"
    assert lines[-1] == "model.onnx: 3.1/3.1 MB"
    assert len(lines) >= 4


def test_a_cut_download_resumes_with_a_range_request(tmp_path: Path) -> None:
    body = os.urandom(2 * 1024 * 1024)
    target = tmp_path / "voices.bin"
    quiet = lambda name, total: Progress(name, total, Recorder())  # noqa: E731
    server = FileServer({"voices.bin": body}, cut_after=700_000)
    with serve_files(server):
        with pytest.raises(DownloadError, match="run the command again"):
            download(
                f"{server.url}/voices.bin",
                target,
                sha256=_sha(body),
                size=len(body),
                progress=quiet,
            )
        partial = tmp_path / "voices.bin.part"
        assert not target.exists()
        assert 0 < partial.stat().st_size < len(body)
        kept = partial.stat().st_size
        download(
            f"{server.url}/voices.bin", target, sha256=_sha(body), size=len(body), progress=quiet
        )
    assert server.ranges == [None, f"bytes={kept}-"]
    assert target.read_bytes() == body
    assert not partial.exists()


def test_a_sha256_mismatch_is_refused_and_nothing_is_kept(tmp_path: Path) -> None:
    body = os.urandom(100_000)
    target = tmp_path / "model.onnx"
    with (
        serve_files(FileServer({"model.onnx": body})) as server,
        pytest.raises(DownloadError, match="does not match"),
    ):
        download(
            f"{server.url}/model.onnx",
            target,
            sha256=_sha(b"something else"),
            size=len(body),
            progress=lambda name, total: Progress(name, total, Recorder()),
        )
    assert list(tmp_path.iterdir()) == []


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with serve_files(FileServer({})) as server, pytest.raises(DownloadError, match="HTTP 404"):
        download(f"{server.url}/nothing", tmp_path / "x", sha256=_sha(b""))


def test_bundled_model_is_joined_once_and_checked(tmp_path: Path) -> None:
    found = resolve_kokoro(data_dir=tmp_path, prepare=False)
    assert found.source == "bundled" and "joined on first use" in found.reason
    assert not found.model.exists()
    found = resolve_kokoro(data_dir=tmp_path)
    assert found.model == bundled_dir(tmp_path) / "kokoro-v1.0.int8.onnx"
    assert found.model.stat().st_size == KOKORO_MODELS["int8"].size
    assert found.voices.name == "voices_ja.npz"
    stamp = found.model.stat().st_mtime_ns
    again = resolve_kokoro(data_dir=tmp_path)
    assert again.model.stat().st_mtime_ns == stamp  # not joined twice
    assert "joined" not in again.reason
    assert [p.name for p in found.model.parent.iterdir()] == ["kokoro-v1.0.int8.onnx"]


def test_settings_win_then_downloads_then_the_bundle(tmp_path: Path) -> None:
    model, voices = tmp_path / "m.onnx", tmp_path / "v.bin"
    model.write_bytes(b"model")
    voices.write_bytes(b"voices")
    chosen = resolve_kokoro(data_dir=tmp_path, model=model, voices=voices)
    assert (chosen.model, chosen.voices, chosen.source) == (model, voices, "settings")
    assert chosen.reason == "KOKORO_MODEL and KOKORO_VOICES set"
    with pytest.raises(ModelUnavailable, match="KOKORO_MODEL points to"):
        resolve_kokoro(data_dir=tmp_path, model=tmp_path / "missing.onnx", voices=voices)

    folder = kokoro_dir(tmp_path)
    folder.mkdir(parents=True)
    (folder / KOKORO_VOICES.name).write_bytes(b"v")
    with (folder / KOKORO_MODELS["int8"].name).open("wb") as out:
        out.truncate(KOKORO_MODELS["int8"].size)
    downloaded = resolve_kokoro(data_dir=tmp_path, prepare=False)
    assert downloaded.source == "downloaded"
    assert "intrvuer models fetch kokoro" in downloaded.reason
    only_voices = resolve_kokoro(data_dir=tmp_path, voices=voices, prepare=False)
    assert only_voices.model == downloaded.model and only_voices.voices == voices


def test_fetch_kokoro_checks_each_release_file(tmp_path: Path) -> None:
    # The bundled model is the release's int8 file byte for byte, so the test server can
    # serve it; its voices file is not, so that one must be refused.
    bundled = resolve_kokoro(data_dir=tmp_path / "bundle")
    files = {
        KOKORO_MODELS["int8"].name: bundled.model.read_bytes(),
        KOKORO_VOICES.name: b"not the voices",
    }
    data_dir = tmp_path / "data"
    quiet = lambda name, total: Progress(name, total, Recorder())  # noqa: E731
    with (
        serve_files(FileServer(files)) as server,
        pytest.raises(DownloadError, match="voices-v1.0.bin: got 14 of"),
    ):
        fetch_kokoro(data_dir, base_url=server.url, progress=quiet)
    folder = kokoro_dir(data_dir)
    assert (folder / KOKORO_MODELS["int8"].name).stat().st_size == KOKORO_MODELS["int8"].size
    assert not (folder / KOKORO_VOICES.name).exists()
    assert resolve_kokoro(data_dir=data_dir, prepare=False).source == "bundled"
