"""The privacy policy's current version, for its page and the app (no sign-in needed)."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.requests import Request

from server.api import ApiRouter
from server.context import services
from server.policy import current_policy

router = ApiRouter(tags=["privacy"])


class PolicyOut(BaseModel):
    version: str
    updated: str  # ISO date of the version's publication
    summary: str  # what changed in this version
    support_email: str  # where questions about one's data go


@router.get("/v1/policy", response=PolicyOut, auth=False)
async def policy(request: Request) -> PolicyOut:
    """The newest published version of the privacy policy (``intrvuer policy publish``)."""
    svc = services(request)
    info = await current_policy(svc.db, svc.settings)
    return PolicyOut(
        version=info.version,
        updated=info.updated,
        summary=info.summary,
        support_email=svc.settings.support_email,
    )
