"""The server-sent events of a streamed chat completion, read as plain JSON.

The request goes through the SDK (auth, base URL, errors for a refused request), but the
events are read here: the SDKs build a typed model of every chunk, which cost about 60 %
of the CPU of a 70-chunk reply, and only ``content`` is needed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Protocol


class RawResponse(Protocol):
    """The streamed HTTP response of the SDK's HTTP library (httpx or httpx2)."""

    def aiter_lines(self) -> AsyncIterator[str]: ...

    async def aclose(self) -> None: ...


class StreamBroken(ConnectionError):
    """The HTTP stream failed mid-reply (the SDKs use httpx or httpx2; either one's error)."""


class ChunkStream:
    """The ``chat.completion.chunk`` objects of one streamed reply, as plain JSON."""

    def __init__(self, response: RawResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        data: list[str] = []
        lines = aiter(self._response.aiter_lines())
        while True:
            try:
                line = await anext(lines)
            except StopAsyncIteration:
                break
            except Exception as error:  # a transport failure of the SDK's HTTP library
                raise StreamBroken(type(error).__name__) from error
            if line.startswith("data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(" ") else value)
                continue
            if line or not data:
                continue  # comments, "event:"/"id:" fields, keep-alive blank lines
            payload = "\n".join(data)
            data.clear()
            if payload == "[DONE]":
                return
            chunk = json.loads(payload)
            if isinstance(chunk, dict):
                yield chunk
        if data and (payload := "\n".join(data)) != "[DONE]":
            chunk = json.loads(payload)
            if isinstance(chunk, dict):
                yield chunk

    async def close(self) -> None:
        await self._response.aclose()
