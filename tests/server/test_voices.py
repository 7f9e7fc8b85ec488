"""GET /v1/voices: what ``POST /v1/interviews {voice}`` may ask for."""

from __future__ import annotations

from dataclasses import replace

import httpx
from pydantic import SecretStr

from server.providers import ConfiguredProviders
from server.settings import Settings
from tests.pipeline.test_session import interview as session_interview
from tests.server.test_auth import bearer, register
from tests.serving import run_server


async def test_local_voices_come_from_the_kokoro_voices_file(client: httpx.AsyncClient) -> None:
    token = (await register(client))["access_token"]
    assert (await client.get("/v1/voices")).status_code == 401
    response = await client.get("/v1/voices", headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["provider"] == "kokoro"
    ids = [voice["id"] for voice in body["voices"]]
    # "default", then the configured voice, then the other styles of the bundled file.
    assert ids[:2] == ["default", "jm_kumo"]
    assert len(ids) == 6
    assert {"id": "jm_kumo", "label": "Kumo"} in body["voices"]


async def test_with_a_deepgram_key_the_voices_are_auras(settings: Settings) -> None:
    cloud = settings.model_copy(update={"deepgram_api_key": SecretStr("dg-test-key")})
    async with (
        run_server(cloud) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as client,
    ):
        token = (await register(client))["access_token"]
        body = (await client.get("/v1/voices", headers=bearer(token))).json()
    assert body["provider"] == "deepgram"
    assert body["voices"][0] == {"id": "default", "label": "Default"}
    assert {"id": "aura-2-thalia-en", "label": "Thalia"} in body["voices"]


async def test_phrases_are_prepared_at_creation_only_once_the_voice_is_loaded(
    settings: Settings,
) -> None:
    """Creating an interview must not load a 90 MB model; once a live session has loaded
    it, a new interview's greeting and questions are synthesized ahead of its session."""
    providers = ConfiguredProviders(settings)
    interview = replace(session_interview(2), voice="default")
    try:
        assert providers.prepare_phrases(interview, "Ada", only_if_loaded=True) == 0
        assert providers._kokoro is None
        providers.kokoro()  # what a live session's for_interview does first
        queued = providers.prepare_phrases(interview, "Ada", only_if_loaded=True)
        assert queued >= 3  # the greeting naming Ada, two questions, the fixed phrases
    finally:
        await providers.aclose()
