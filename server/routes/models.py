"""Request and response bodies shared by several route modules."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# No spaces and no control characters (Postgres refuses a NUL in text: that would be a 500).
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")


def normalise_email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("not a valid e-mail address")
    return value.lower()


# An address an account is to use (registration, a change of address): lower-cased.
EmailAddress = Annotated[str, Field(max_length=254), AfterValidator(normalise_email)]


def _one_line(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError("name must not be blank")
    return value


# A person's name as an account shows it: one line, single spaces.
PersonName = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_one_line)]
# A password being set: the same rules at registration, reset and change.
NewPassword = Annotated[str, Field(min_length=10, max_length=256)]
# The token of an e-mailed link, as the web app posts it back.
LinkToken = Annotated[str, Field(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


class Strict(BaseModel):
    """Bodies refuse unknown fields, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class FromRecord(BaseModel):
    """A response read off the attributes of a storage record: ``Out.of(record)``.

    A field the record names otherwise says which with ``validation_alias`` (responses are
    written, and documented, under the field's own name); fields the record lacks come as
    keyword arguments."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    @classmethod
    def of(cls, record: object, **extra: Any) -> Self:
        return cls.model_validate(_With(record, extra) if extra else record)


class _With:
    """A record seen with some more attributes."""

    def __init__(self, record: object, extra: dict[str, Any]) -> None:
        self._record = record
        self._extra = extra

    def __getattr__(self, name: str) -> Any:
        if name in self._extra:
            return self._extra[name]
        return getattr(self._record, name)


class Preferences(Strict):
    theme: Literal["light", "dark", "system"] | None = None
    voice: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=16)


class UserOut(FromRecord):
    id: str
    email: str
    email_verified: bool
    name: str
    preferences: dict[str, Any]
    created_at: datetime
    has_password: bool
    age_confirmed: bool  # False for accounts made by Google/GitHub/Supabase until confirmed


class PolicyNoticeOut(FromRecord):
    version: str
    summary: str


class MeOut(UserOut):
    # A material change of the privacy policy the user has not acknowledged yet (show a
    # banner until POST /v1/me/policy-ack); null when there is none.
    policy_notice: PolicyNoticeOut | None = None


class Accepted(BaseModel):
    """A request taken in; what it asked for happens by e-mail."""

    message: str


class EmailStatus(BaseModel):
    email: str
    email_verified: bool


class SessionOut(FromRecord):
    id: str
    created_at: datetime = Field(validation_alias="started_at")  # the sign-in
    last_used_at: datetime  # the latest refresh of its tokens
    user_agent: str | None
    ip_prefix: str | None  # the network of the latest refresh: a /24 (IPv4) or /48 (IPv6)
    current: bool  # the session of the access token that asked


class SessionsOut(BaseModel):
    sessions: list[SessionOut]


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int
    user: UserOut
