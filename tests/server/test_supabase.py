"""Supabase mode, through a real server: Supabase access tokens signed with the project
secret (HS256) or with keys from a JWKS endpoint (RS256, ES256) served over HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.auth.supabase import JwksCache
from server.settings import Settings
from storage import connect
from storage.audit import AuditRepository
from storage.users import UserRepository
from tests.fakes.serving import serve_app
from tests.serving import RunningServer, run_server

PROJECT_URL = "https://abcdefgh.supabase.co"
ISSUER = f"{PROJECT_URL}/auth/v1"
SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"  # noqa: S105


class JwksEndpoint:
    """A project's ``/.well-known/jwks.json``: the keys it publishes, and how often it
    was asked."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        self.app = Starlette(routes=[Route("/auth/v1/.well-known/jwks.json", self._jwks)])

    async def _jwks(self, request: Request) -> JSONResponse:
        self.fetches += 1
        return JSONResponse({"keys": self.keys})


def public_jwk(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        alg = "RS256"
    else:
        jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
        alg = "ES256"
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": "authenticated",
        "sub": str(uuid.uuid4()),
        "exp": now + 3600,
        "iat": now,
        "role": "authenticated",
        "email": "ada@example.org",
        "user_metadata": {"full_name": "Ada Lovelace"},
        "app_metadata": {"provider": "email"},
        **overrides,
    }


def hs256(**overrides: Any) -> str:
    return jwt.encode(claims(**overrides), SECRET, algorithm="HS256")


def hmac_signed(payload: dict[str, Any], key: bytes, alg: str = "HS256") -> str:
    """An HMAC-signed token built by hand: PyJWT rightly refuses a PEM key as a secret,
    and warns on a secret shorter than the hash."""

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    header = json.dumps({"alg": alg, "typ": "JWT"}).encode()
    signing_input = b64(header) + b"." + b64(json.dumps(payload).encode())
    digest = hashlib.sha512 if alg == "HS512" else hashlib.sha256
    signature = hmac.new(key, signing_input, digest).digest()
    return (signing_input + b"." + b64(signature)).decode()


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture
async def jwks() -> AsyncIterator[tuple[JwksEndpoint, str]]:
    endpoint = JwksEndpoint()
    async with serve_app(endpoint.app) as url:
        yield endpoint, f"{url}/auth/v1/.well-known/jwks.json"


@pytest.fixture
async def supabase_server(
    settings: Settings, jwks: tuple[JwksEndpoint, str]
) -> AsyncIterator[RunningServer]:
    configured = settings.model_copy(
        update={
            "auth_provider": "supabase",
            "supabase_url": PROJECT_URL,
            "supabase_jwt_secret": SecretStr(SECRET),
            "supabase_jwks_url": jwks[1],
        }
    )
    async with run_server(configured) as running:
        yield running


@pytest.fixture
async def client(supabase_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=supabase_server.url, timeout=10) as http:
        yield http


async def audit_details(settings: Settings, action: str) -> list[tuple[str | None, Any]]:
    db = await connect(settings.resolved_database_url, ssl_mode="disable")
    try:
        return [(e.user_id, e.details) for e in await AuditRepository(db).list_by_action(action)]
    finally:
        await db.close()


async def test_a_supabase_user_is_created_on_first_sight(
    client: httpx.AsyncClient, supabase_server: RunningServer
) -> None:
    sub = str(uuid.uuid4())
    first = await client.get("/v1/me", headers=bearer(hs256(sub=sub)))
    assert first.status_code == 200, first.text
    user = first.json()
    assert (user["email"], user["name"]) == ("ada@example.org", "Ada Lovelace")
    assert user["has_password"] is False and user["email_verified"] is False

    # Another session of the same Supabase user is the same local user.
    again = await client.get("/v1/me", headers=bearer(hs256(sub=sub, iat=int(time.time()) - 5)))
    assert again.status_code == 200 and again.json()["id"] == user["id"]
    registered = await audit_details(supabase_server.settings, "auth.register")
    assert registered == [(user["id"], {"method": "supabase"})]

    # Accounts live in Supabase: no local registration, no Google/GitHub buttons.
    local = await client.post(
        "/v1/auth/register",
        json={"email": "b@example.org", "password": "x" * 12, "name": "B", "confirm_age_16": True},
    )
    assert local.status_code == 403
    assert (await client.get("/v1/auth/oauth/providers")).json() == {"providers": []}


async def test_tokens_that_are_not_the_projects_are_refused(
    client: httpx.AsyncClient, supabase_server: RunningServer
) -> None:
    now = int(time.time())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    refused = {
        "wrong audience": hs256(aud="anon"),
        "expired": hs256(iat=now - 7200, exp=now - 3600),
        "wrong issuer": hs256(iss="https://other.supabase.co/auth/v1"),
        "no issuer": jwt.encode(
            {k: v for k, v in claims().items() if k != "iss"}, SECRET, algorithm="HS256"
        ),
        "no subject": jwt.encode(
            {k: v for k, v in claims().items() if k != "sub"}, SECRET, algorithm="HS256"
        ),
        "alg none": jwt.encode(claims(), key="", algorithm="none"),
        "other secret": jwt.encode(claims(), "x" * 40, algorithm="HS256"),
        "hs512": hmac_signed(claims(), SECRET.encode(), alg="HS512"),
        # The classic confusion: an HMAC keyed with a public key someone could fetch.
        "hmac with the public key": hmac_signed(claims(), public_pem),
        "unknown kid": jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "nope"}),
        "garbage": "not.a.jwt",
    }
    for reason, token in refused.items():
        response = await client.get("/v1/me", headers=bearer(token))
        assert response.status_code == 401, reason
        assert response.json()["error"]["code"] == "invalid_token", reason
    assert await audit_details(supabase_server.settings, "auth.register") == []


async def test_jwks_keys_rs256_es256_and_rotation(
    client: httpx.AsyncClient, jwks: tuple[JwksEndpoint, str]
) -> None:
    endpoint, _ = jwks
    rsa_a = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_b = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_c = ec.generate_private_key(ec.SECP256R1())
    endpoint.keys = [public_jwk(rsa_a, "key-a"), public_jwk(ec_c, "key-c")]
    sub = str(uuid.uuid4())

    def signed(key: Any, alg: str, kid: str) -> str:
        return jwt.encode(claims(sub=sub), key, algorithm=alg, headers={"kid": kid})

    first = await client.get("/v1/me", headers=bearer(signed(rsa_a, "RS256", "key-a")))
    assert first.status_code == 200, first.text
    ec_signed = await client.get("/v1/me", headers=bearer(signed(ec_c, "ES256", "key-c")))
    assert ec_signed.status_code == 200 and ec_signed.json()["id"] == first.json()["id"]
    assert endpoint.fetches == 1  # cached

    # A key only verifies its own algorithm, whatever the token's header claims.
    mislabelled = await client.get("/v1/me", headers=bearer(signed(rsa_a, "RS256", "key-c")))
    assert mislabelled.status_code == 401

    # The project rotates to key B and retires A: an unknown kid triggers one refetch.
    endpoint.keys = [public_jwk(rsa_b, "key-b")]
    rotated = await client.get("/v1/me", headers=bearer(signed(rsa_b, "RS256", "key-b")))
    assert rotated.status_code == 200 and rotated.json()["id"] == first.json()["id"]
    assert endpoint.fetches == 2
    retired = await client.get("/v1/me", headers=bearer(signed(rsa_a, "RS256", "key-a")))
    assert retired.status_code == 401
    # Made-up kids right after do not turn into fetches.
    for kid in ("made-up-1", "made-up-2"):
        response = await client.get("/v1/me", headers=bearer(signed(rsa_b, "RS256", kid)))
        assert response.status_code == 401
    assert endpoint.fetches == 2


async def test_only_a_verified_email_links_an_existing_account(
    client: httpx.AsyncClient, supabase_server: RunningServer
) -> None:
    db = await connect(supabase_server.settings.resolved_database_url, ssl_mode="disable")
    try:
        local = await UserRepository(db).create(
            email="ada@example.org", name="Ada", password_hash="$argon2id$not-a-real-hash"
        )
    finally:
        await db.close()
    sub = str(uuid.uuid4())

    # user_metadata is editable by the Supabase user, so it vouches for nothing.
    self_declared = hs256(
        sub=sub, user_metadata={"email_verified": True, "email_confirmed_at": "2024-01-01"}
    )
    refused = await client.get("/v1/me", headers=bearer(self_declared))
    assert refused.status_code == 401
    assert await audit_details(supabase_server.settings, "auth.identity_linked") == []

    verified = await client.get("/v1/me", headers=bearer(hs256(sub=sub, email_verified=True)))
    assert verified.status_code == 200, verified.text
    assert verified.json()["id"] == local.id
    assert verified.json()["email_verified"] is True
    linked = await audit_details(supabase_server.settings, "auth.identity_linked")
    assert linked == [(local.id, {"provider": "supabase"})]
    # Linked now: the same sub works without the claim.
    later = await client.get("/v1/me", headers=bearer(hs256(sub=sub)))
    assert later.status_code == 200 and later.json()["id"] == local.id


async def test_jwks_cache_expires_keys_and_survives_a_failed_fetch(
    jwks: tuple[JwksEndpoint, str],
) -> None:
    endpoint, url = jwks
    endpoint.keys = [public_jwk(ec.generate_private_key(ec.SECP256R1()), "key-c")]
    now = [0.0]
    async with httpx.AsyncClient() as http:
        cache = JwksCache(http, url, ttl_s=60, miss_cooldown_s=10, clock=lambda: now[0])
        assert (await cache.get("key-c")) is not None
        now[0] = 59
        assert (await cache.get("key-c")) is not None and endpoint.fetches == 1
        now[0] = 61  # stale: fetched again
        assert (await cache.get("key-c")) is not None and endpoint.fetches == 2

        # The endpoint goes away: the keys we have keep working meanwhile.
        cache.url = url.replace("/auth/v1/", "/missing/")
        now[0] = 200
        assert (await cache.get("key-c")) is not None
        assert endpoint.fetches == 2
