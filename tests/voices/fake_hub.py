"""A wire-level fake of the Hugging Face Hub endpoints that ``snapshot_download`` calls:
repository info, its file tree, and ``resolve`` downloads (HEAD and GET)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class FakeHub:
    files: dict[str, bytes]
    missing: set[str] = field(default_factory=set)  # listed, but answer 404
    requests: list[str] = field(default_factory=list)
    url: str = ""


@contextmanager
def running_hub(files: dict[str, bytes], missing: set[str] | None = None) -> Iterator[FakeHub]:
    hub = FakeHub(files, missing or set())

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            hub.requests.append(f"{self.command} {self.path.split('?')[0]}")

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            json_type = {"Content-Type": "application/json"}
            if path.startswith("/api/models/") and "/tree/" in path:
                tree = [
                    {"type": "file", "path": name, "size": len(body), "oid": _sha1(body)}
                    for name, body in hub.files.items()
                ]
                self._answer(200, json.dumps(tree).encode(), json_type)
            elif path.startswith("/api/models/"):
                repo = path.removeprefix("/api/models/").rsplit("/revision/", 1)[0]
                info = {
                    "id": repo,
                    "sha": COMMIT,
                    "siblings": [{"rfilename": name} for name in hub.files],
                }
                self._answer(200, json.dumps(info).encode(), json_type)
            elif "/resolve/" in path:
                name = path.rsplit("/", 1)[1]
                if name in hub.missing or name not in hub.files:
                    self._answer(404, b"not found", {"X-Error-Code": "EntryNotFound"})
                    return
                body = hub.files[name]
                self._answer(200, body, {"X-Repo-Commit": COMMIT, "ETag": f'"{_sha1(body)}"'})
            else:
                self._answer(404, b"", {})

        do_HEAD = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hub.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _sha1(body: bytes) -> str:
    return hashlib.sha1(body).hexdigest()  # noqa: S324 - the Hub's ETag for small files
