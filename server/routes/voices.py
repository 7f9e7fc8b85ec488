"""The interviewer voices an interview may use, from the active speech synthesizer."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.requests import Request

from server.api import ApiRouter
from server.context import services
from storage.types import User

router = ApiRouter(tags=["interviews"])


class VoiceOut(BaseModel):
    id: str
    label: str


class VoicesOut(BaseModel):
    provider: str  # "deepgram" | "kokoro"
    voices: list[VoiceOut]  # "default" first: the server's configured voice


def _label(voice: str) -> str:
    if voice.startswith("aura-"):  # aura-2-thalia-en → Thalia
        parts = voice.split("-")
        return parts[2].capitalize() if len(parts) > 2 else voice
    return voice.split("_", 1)[-1].replace("_", " ").capitalize()  # jm_kumo → Kumo


@router.get("/v1/voices", response=VoicesOut)
async def list_voices(request: Request, user: User) -> VoicesOut:
    """Voices for ``POST /v1/interviews {voice}``; an unknown voice falls back to the
    default one."""
    provider, names = services(request).providers.voices()
    voices = [VoiceOut(id="default", label="Default")]
    voices += [VoiceOut(id=name, label=_label(name)) for name in names]
    return VoicesOut(provider=provider, voices=voices)
