"""The e-mails of an account's life through the real server and a real SMTP server
(aiosmtpd on 127.0.0.1, STARTTLS and login), on every backend: each test reads the
messages that arrive and follows their links as the web app does — opens the page, posts
the token back.

Verification at registration, "forgot password" (the same answer for every address), the
reset, a changed password and a changed address (both addresses get their message), the
sessions signed in, and a relay that is down while a message waits in the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from server.auth.sessions import network_prefix
from server.mail.templates import SUBJECTS
from server.privacy import delete_expired_credentials
from server.services import Services
from server.settings import Settings
from storage import Database
from storage._util import utcnow
from storage.email_tokens import EmailPurpose, EmailTokenRepository, hash_email_token
from storage.users import UserRepository
from tests.polling import eventually
from tests.server.mailbox import eml_link, link_to, token_of
from tests.server.test_auth import PASSWORD, bearer, login, register
from tests.serving import RunningServer, run_server
from tests.smtp import PASSWORD as SMTP_PASSWORD
from tests.smtp import USERNAME as SMTP_USERNAME
from tests.smtp import Received, RunningSmtp, start_smtp

NEW_PASSWORD = "a new horse battery"


@pytest.fixture
async def smtp(tmp_path: Path) -> AsyncIterator[RunningSmtp]:
    running = await start_smtp(tmp_path)
    yield running
    running.stop()


def with_smtp(
    settings: Settings, smtp: RunningSmtp, monkeypatch: pytest.MonkeyPatch, **extra: Any
) -> Settings:
    # The server checks the relay's certificate as in production; a private CA is
    # trusted the documented way, through SSL_CERT_FILE.
    monkeypatch.setenv("SSL_CERT_FILE", str(smtp.cert_file))
    return settings.model_copy(
        update={
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "smtp_username": SMTP_USERNAME,
            "smtp_password": SecretStr(SMTP_PASSWORD),
            "smtp_security": "starttls",
            "mail_from": "Intrvuer <no-reply@intrvuer.test>",
            "support_email": "help@intrvuer.test",
            "register_rate_limit": 50,
            **extra,
        }
    )


@contextlib.asynccontextmanager
async def mail_site(settings: Settings) -> AsyncIterator[tuple[RunningServer, httpx.AsyncClient]]:
    async with (
        run_server(settings) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as http,
    ):
        # Links are built from PUBLIC_URL, and the port is only known now.
        server.settings.public_url = server.url
        yield server, http


@pytest.fixture
async def site(
    settings: Settings, smtp: RunningSmtp, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[RunningServer, httpx.AsyncClient]]:
    async with mail_site(with_smtp(settings, smtp, monkeypatch)) as running:
        yield running


def services_of(server: RunningServer) -> Services:
    svc: Services = server.app.state.services
    return svc


async def mail(
    smtp: RunningSmtp, to: str, template: str, *, count: int = 1, within: float = 20
) -> Received:
    """The newest message ``template`` to ``to``, once ``count`` of them arrived."""

    async def arrived() -> list[Received]:
        return [m for m in smtp.sink.to(to) if m.message["Subject"] == SUBJECTS[template]]

    return (await eventually(arrived, lambda found: len(found) >= count, within=within))[-1]


async def follow(http: httpx.AsyncClient, message: Received, page: str) -> str:
    """Open the message's link to ``page`` as a browser does and return its token, which
    the page posts back ('' for a link without one)."""
    link = link_to(message.links(), page)
    assert link.startswith(f"{http.base_url}".rstrip("/") + "/#/"), link
    assert f'href="{link}"' in message.html
    opened = await http.get(link)  # the fragment stays in the browser: this is the app
    assert opened.status_code == 200 and "text/html" in opened.headers["content-type"]
    return token_of(link) if "token=" in link else ""


async def actions_of(server: RunningServer, user_id: str) -> list[str]:
    events = await services_of(server).audit_repository.list_for_user(user_id, limit=200)
    for event in events:  # ids only: never an address, a token or a link
        assert "example.org" not in f"{event.details} {event.target_id}"
        assert "token" not in str(event.details)
    return [event.action for event in reversed(events)]


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


# Verification ----------------------------------------------------------------------------


async def test_registration_sends_a_link_that_verifies_the_address_once(
    site: tuple[RunningServer, httpx.AsyncClient], smtp: RunningSmtp
) -> None:
    server, http = site
    registered = await register(http, "ada@example.org")
    auth = bearer(registered["access_token"])
    message = await mail(smtp, "ada@example.org", "verify_email")
    assert message.message["From"] == "Intrvuer <no-reply@intrvuer.test>"
    assert "help@intrvuer.test" in message.text
    assert "Ada" not in message.text + message.html  # no one is greeted by name
    assert smtp.sink.logins  # STARTTLS and the login, with the certificate checked

    # Unverified, the account is usable: practising needs no verified address.
    me = await http.get("/v1/me", headers=auth)
    assert me.json()["email_verified"] is False
    practice = await http.post("/v1/interviews", headers=auth, json={"type": "technical"})
    assert practice.status_code == 201, practice.text

    token = await follow(http, message, "/#/verify")
    [stored] = await services_of(server).db.fetch("SELECT token_hash, email FROM email_tokens")
    assert stored["token_hash"] == hash_email_token(token) != token  # only the hash is kept
    verified = await http.post("/v1/auth/verify-email", json={"token": token})
    assert verified.status_code == 200, verified.text
    assert verified.json() == {"email": "ada@example.org", "email_verified": True}
    assert (await http.get("/v1/me", headers=auth)).json()["email_verified"] is True

    again = await http.post("/v1/auth/verify-email", json={"token": token})
    assert again.status_code == 400 and error_code(again) == "invalid_link"
    made_up = await http.post("/v1/auth/verify-email", json={"token": "A" * 43})
    assert made_up.status_code == 400 and error_code(made_up) == "invalid_link"
    malformed = await http.post("/v1/auth/verify-email", json={"token": "not a token!"})
    assert malformed.status_code == 422 and error_code(malformed) == "validation_error"
    resend = await http.post("/v1/auth/verify-email/resend", headers=auth)
    assert resend.status_code == 409 and error_code(resend) == "email_already_verified"
    assert await actions_of(server, registered["user"]["id"]) == [
        "auth.register",
        "interview.created",
        "auth.email_verified",
    ]


async def test_a_new_link_can_be_asked_for_a_few_times_and_an_expired_one_is_refused(
    settings: Settings, smtp: RunningSmtp, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = with_smtp(settings, smtp, monkeypatch, mail_link_rate_limit=2)
    async with mail_site(configured) as (server, http):
        registered = await register(http, "bob@example.org")
        auth = bearer(registered["access_token"])
        first = await follow(http, await mail(smtp, "bob@example.org", "verify_email"), "/#/verify")
        await services_of(server).db.execute(
            "UPDATE email_tokens SET expires_at = $1", utcnow() - timedelta(seconds=1)
        )
        expired = await http.post("/v1/auth/verify-email", json={"token": first})
        assert expired.status_code == 400 and error_code(expired) == "invalid_link"

        for _ in range(2):
            sent = await http.post("/v1/auth/verify-email/resend", headers=auth)
            assert sent.status_code == 202, sent.text
            assert "24 hours" in sent.json()["message"]
        throttled = await http.post("/v1/auth/verify-email/resend", headers=auth)
        assert throttled.status_code == 429 and error_code(throttled) == "too_many_emails"
        assert int(throttled.headers["retry-after"]) > 0

        newest = await mail(smtp, "bob@example.org", "verify_email", count=3)
        token = await follow(http, newest, "/#/verify")
        assert (await http.post("/v1/auth/verify-email", json={"token": token})).status_code == 200
        actions = await actions_of(server, registered["user"]["id"])
        assert actions.count("auth.verification_sent") == 2


# Password reset --------------------------------------------------------------------------


async def test_a_reset_link_sets_the_password_and_signs_out_every_session(
    site: tuple[RunningServer, httpx.AsyncClient], smtp: RunningSmtp
) -> None:
    server, http = site
    registered = await register(http, "ada@example.org")
    other = (await login(http, "ada@example.org", PASSWORD)).json()

    for malformed in ("ada", "ada\u0000@example.org", "a" * 250 + "@example.org"):
        refused = await http.post("/v1/auth/password/forgot", json={"email": malformed})
        assert refused.status_code == 422 and error_code(refused) == "validation_error"
    asked = await http.post("/v1/auth/password/forgot", json={"email": " ADA@example.org "})
    assert asked.status_code == 202, asked.text
    message = await mail(smtp, "ada@example.org", "password_reset")
    assert "one hour" in message.text
    token = await follow(http, message, "/#/reset")

    short = await http.post("/v1/auth/password/reset", json={"token": token, "password": "short"})
    assert short.status_code == 422 and error_code(short) == "validation_error"
    reset = await http.post(
        "/v1/auth/password/reset", json={"token": token, "password": NEW_PASSWORD}
    )
    assert reset.status_code == 204, reset.text

    assert (await login(http, "ada@example.org", PASSWORD)).status_code == 401
    fresh = await login(http, "ada@example.org", NEW_PASSWORD)
    assert fresh.status_code == 200
    assert fresh.json()["user"]["email_verified"] is True  # the link proved the address
    for tokens in (registered, other):
        refresh = await http.post(
            "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refresh.status_code == 401
        # Signed out means at once, not when the access token expires.
        me = await http.get("/v1/me", headers=bearer(tokens["access_token"]))
        assert me.status_code == 401
    again = await http.post(
        "/v1/auth/password/reset", json={"token": token, "password": NEW_PASSWORD}
    )
    assert again.status_code == 400 and error_code(again) == "invalid_link"

    notice = await mail(smtp, "ada@example.org", "password_changed")
    assert "was changed on" in notice.text and "UTC" in notice.text
    assert await follow(http, notice, "/#/forgot") == ""
    actions = await actions_of(server, registered["user"]["id"])
    requested = actions.index("auth.password_reset_requested")
    assert actions.index("auth.password_reset") > requested


async def test_forgot_password_answers_the_same_for_an_unknown_address(
    settings: Settings, smtp: RunningSmtp, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = with_smtp(
        settings, smtp, monkeypatch, mail_link_rate_limit=5, mail_link_ip_rate_limit=12
    )
    async with mail_site(configured) as (server, http):
        await register(http, "ada@example.org")
        await mail(smtp, "ada@example.org", "verify_email")

        async def forgot(email: str) -> tuple[httpx.Response, float]:
            started = time.perf_counter()
            response = await http.post("/v1/auth/password/forgot", json={"email": email})
            return response, time.perf_counter() - started

        timings: dict[str, list[float]] = {"ada@example.org": [], "nobody@example.org": []}
        answers: dict[str, set[tuple[int, str, str]]] = {address: set() for address in timings}
        for _ in range(5):  # within the throttle of each address
            for address in timings:
                response, took = await forgot(address)
                timings[address].append(took)
                answers[address].add(
                    (response.status_code, response.text, response.headers["content-type"])
                )
        assert answers["ada@example.org"] == answers["nobody@example.org"]
        [(status, _, _)] = answers["ada@example.org"]
        assert status == 202
        # The request does the same work for both (it only queues the look-up): what is
        # left is noise, far below a database round trip plus a message.
        known = statistics.median(timings["ada@example.org"])
        unknown = statistics.median(timings["nobody@example.org"])
        assert abs(known - unknown) < 0.05, (timings, known, unknown)

        # Past the throttle of an address, both are refused alike.
        refusals = [(await forgot(address))[0] for address in timings]
        assert [r.status_code for r in refusals] == [429, 429]
        assert {error_code(r) for r in refusals} == {"too_many_emails"}
        assert all(int(r.headers["retry-after"]) > 0 for r in refusals)
        # ...and past the throttle of the IP, whatever the address.
        for fresh in ("new1@example.org", "new2@example.org"):
            assert (await forgot(fresh))[0].status_code == 202
        by_ip = (await forgot("new3@example.org"))[0]
        assert by_ip.status_code == 429 and error_code(by_ip) == "too_many_emails"

        await mail(smtp, "ada@example.org", "password_reset", count=5)
        await eventually(services_of(server).queue.pending_count, lambda count: count == 0)
        assert len(smtp.sink.to("ada@example.org")) == 6  # the verification and 5 resets
        for nobody in ("nobody@example.org", "new1@example.org", "new2@example.org"):
            assert smtp.sink.to(nobody) == []


async def test_an_account_without_a_password_sets_one_with_a_reset_link(
    site: tuple[RunningServer, httpx.AsyncClient], smtp: RunningSmtp
) -> None:
    server, http = site
    svc = services_of(server)
    google_only = await UserRepository(svc.db).create(
        email="g@example.org",
        name="Gail",
        password_hash=None,
        email_verified=True,
        age_confirmed_at=utcnow(),
    )
    auth = bearer(svc.tokens.issue_access(google_only.id, auth_time=utcnow()))
    change = await http.post(
        "/v1/me/password",
        headers=auth,
        json={"current_password": "anything", "new_password": NEW_PASSWORD},
    )
    assert change.status_code == 409 and error_code(change) == "no_password"
    assert "Forgot password?" in change.json()["error"]["message"]

    await http.post("/v1/auth/password/forgot", json={"email": "g@example.org"})
    token = await follow(http, await mail(smtp, "g@example.org", "password_reset"), "/#/reset")
    reset = await http.post(
        "/v1/auth/password/reset", json={"token": token, "password": NEW_PASSWORD}
    )
    assert reset.status_code == 204, reset.text
    signed_in = await login(http, "g@example.org", NEW_PASSWORD)
    assert signed_in.status_code == 200 and signed_in.json()["user"]["has_password"] is True


async def test_without_smtp_the_reset_link_is_in_an_eml_file(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    await register(client, "ada@example.org")
    asked = await client.post("/v1/auth/password/forgot", json={"email": "ada@example.org"})
    assert asked.status_code == 202
    link = await eml_link(server.settings.data_dir, "ada@example.org", "/#/reset")
    assert link.startswith(f"{server.settings.public_url}/#/reset?token=")
    reset = await client.post(
        "/v1/auth/password/reset", json={"token": token_of(link), "password": NEW_PASSWORD}
    )
    assert reset.status_code == 204, reset.text
    assert (await login(client, "ada@example.org", NEW_PASSWORD)).status_code == 200


async def test_with_smtp_down_the_request_succeeds_and_the_message_goes_out_when_it_is_back(
    site: tuple[RunningServer, httpx.AsyncClient], smtp: RunningSmtp
) -> None:
    server, http = site
    svc = services_of(server)
    await register(http, "ada@example.org")
    await mail(smtp, "ada@example.org", "verify_email")
    smtp.stop()

    asked = await http.post("/v1/auth/password/forgot", json={"email": "ada@example.org"})
    assert asked.status_code == 202

    async def waiting_mail() -> list[Any]:
        return await svc.db.fetch(
            "SELECT status, attempts, last_error FROM jobs WHERE kind = 'mail.send'"
            " AND status <> 'done'"
        )

    [waiting] = await eventually(
        waiting_mail, lambda rows: len(rows) == 1 and rows[0]["attempts"] >= 1, within=15
    )
    assert waiting["status"] in ("ready", "running") and waiting["last_error"]
    assert "ada@example.org" not in waiting["last_error"]
    # While it waits, nothing in the queue shows the address or the link.
    for row in await svc.db.fetch("SELECT kind, payload FROM jobs"):
        assert "ada@example.org" not in str(row["payload"]), row["kind"]
        assert "token=" not in str(row["payload"]), row["kind"]

    await asyncio.to_thread(smtp.start)
    message = await mail(smtp, "ada@example.org", "password_reset", within=30)
    token = await follow(http, message, "/#/reset")
    reset = await http.post(
        "/v1/auth/password/reset", json={"token": token, "password": NEW_PASSWORD}
    )
    assert reset.status_code == 204
    assert await svc.queue.dead_letters() == []


# Signed-in security settings -------------------------------------------------------------


async def test_changing_the_password_keeps_this_session_and_ends_the_others(
    site: tuple[RunningServer, httpx.AsyncClient], smtp: RunningSmtp
) -> None:
    server, http = site
    this = await register(http, "ada@example.org")
    other = (await login(http, "ada@example.org", PASSWORD)).json()
    auth = bearer(this["access_token"])
    # A reset link asked for before the change must not outlive it.
    await http.post("/v1/auth/password/forgot", json={"email": "ada@example.org"})
    earlier_reset = await follow(
        http, await mail(smtp, "ada@example.org", "password_reset"), "/#/reset"
    )

    wrong = await http.post(
        "/v1/me/password",
        headers=auth,
        json={"current_password": "not it", "new_password": NEW_PASSWORD},
    )
    assert wrong.status_code == 403 and error_code(wrong) == "password_required"
    weak = await http.post(
        "/v1/me/password", headers=auth, json={"current_password": PASSWORD, "new_password": "x"}
    )
    assert weak.status_code == 422
    changed = await http.post(
        "/v1/me/password",
        headers=auth,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 204, changed.text

    assert (await http.get("/v1/me", headers=auth)).status_code == 200
    kept = await http.post("/v1/auth/refresh", json={"refresh_token": this["refresh_token"]})
    assert kept.status_code == 200
    ended = await http.post("/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert ended.status_code == 401
    assert (await http.get("/v1/me", headers=bearer(other["access_token"]))).status_code == 401
    assert (await login(http, "ada@example.org", PASSWORD)).status_code == 401
    assert (await login(http, "ada@example.org", NEW_PASSWORD)).status_code == 200
    stale = await http.post(
        "/v1/auth/password/reset", json={"token": earlier_reset, "password": "yet another one"}
    )
    assert stale.status_code == 400 and error_code(stale) == "invalid_link"

    notice = await mail(smtp, "ada@example.org", "password_changed")
    assert "every other" in notice.text
    await follow(http, notice, "/#/forgot")
    actions = await actions_of(server, this["user"]["id"])
    assert "auth.password_change_refused" in actions and "auth.password_changed" in actions


async def test_changing_the_address_takes_a_link_to_the_new_one_and_tells_the_old_one(
    site: tuple[RunningServer, httpx.AsyncClient], smtp: RunningSmtp
) -> None:
    server, http = site
    ada = await register(http, "ada@example.org")
    await register(http, "bob@example.org")
    auth = bearer(ada["access_token"])
    unused_verification = await follow(
        http, await mail(smtp, "ada@example.org", "verify_email"), "/#/verify"
    )

    async def change(email: str, password: str | None = PASSWORD) -> httpx.Response:
        body = {"email": email} if password is None else {"email": email, "password": password}
        return await http.post("/v1/me/email", headers=auth, json=body)

    assert error_code(await change("ada.new@example.org", "not it")) == "password_required"
    assert error_code(await change("ada.new@example.org", None)) == "password_required"
    assert error_code(await change("ADA@example.org")) == "email_unchanged"
    assert error_code(await change("bob@example.org")) == "email_taken"
    assert (await change("not an address")).status_code == 422
    asked = await change("Ada.New@Example.org")
    assert asked.status_code == 202, asked.text

    notice = await mail(smtp, "ada@example.org", "email_change_notice")
    assert "ada.new@example.org" in notice.text
    await follow(http, notice, "/#/account")
    confirm = await mail(smtp, "ada.new@example.org", "email_change_confirm")
    token = await follow(http, confirm, "/#/confirm-email")
    # Nothing changes until the new address answers.
    assert (await http.get("/v1/me", headers=auth)).json()["email"] == "ada@example.org"

    confirmed = await http.post("/v1/auth/email/confirm", json={"token": token})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json() == {"email": "ada.new@example.org", "email_verified": True}
    again = await http.post("/v1/auth/email/confirm", json={"token": token})
    assert again.status_code == 400 and error_code(again) == "invalid_link"
    me = (await http.get("/v1/me", headers=auth)).json()
    assert (me["email"], me["email_verified"]) == ("ada.new@example.org", True)
    assert (await login(http, "ada.new@example.org", PASSWORD)).status_code == 200
    assert (await login(http, "ada@example.org", PASSWORD)).status_code == 401
    # A link sent to the address the account left proves nothing about the new one.
    old_link = await http.post("/v1/auth/verify-email", json={"token": unused_verification})
    assert old_link.status_code == 400

    # A change still waiting for its link ends with a change of password.
    assert (await change("ada.third@example.org")).status_code == 202
    pending = await follow(
        http, await mail(smtp, "ada.third@example.org", "email_change_confirm"), "/#/confirm-email"
    )
    await http.post(
        "/v1/me/password",
        headers=auth,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    void = await http.post("/v1/auth/email/confirm", json={"token": pending})
    assert void.status_code == 400 and error_code(void) == "invalid_link"

    actions = await actions_of(server, ada["user"]["id"])
    assert actions.count("user.email_change_refused") == 2
    assert actions.count("user.email_change_requested") == 2
    assert actions.count("user.email_changed") == 1


async def test_the_sessions_list_and_signing_out_one_or_everywhere(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    laptop = await register(client, "ada@example.org")
    signed_in = await client.post(
        "/v1/auth/login",
        json={"email": "ada@example.org", "password": PASSWORD},
        headers={"user-agent": "Phone/1.0"},
    )
    phone = (
        await client.post(
            "/v1/auth/refresh",
            json={"refresh_token": signed_in.json()["refresh_token"]},
            headers={"user-agent": "Phone/2.0"},
        )
    ).json()
    carol = await register(client, "carol@example.org")

    listed = await client.get("/v1/me/sessions", headers=bearer(laptop["access_token"]))
    assert listed.status_code == 200
    sessions = listed.json()["sessions"]
    assert [(s["user_agent"], s["current"]) for s in sessions] == [
        ("Phone/2.0", False),  # most recently used first; the latest refresh's browser
        ("pytest-ua", True),
    ]
    assert {s["ip_prefix"] for s in sessions} == {"127.0.0.0/24"}
    assert all(s["created_at"] <= s["last_used_at"] for s in sessions)
    phone_id, laptop_id = (s["id"] for s in sessions)
    as_phone = await client.get("/v1/me/sessions", headers=bearer(phone["access_token"]))
    assert [s["current"] for s in as_phone.json()["sessions"]] == [True, False]

    carols = await client.get("/v1/me/sessions", headers=bearer(carol["access_token"]))
    carol_id = carols.json()["sessions"][0]["id"]
    for someone_elses in (carol_id, "no-such-session", "%00"):
        refused = await client.delete(
            f"/v1/me/sessions/{someone_elses}", headers=bearer(laptop["access_token"])
        )
        assert refused.status_code == 404 and error_code(refused) == "not_found"
    assert (await client.get("/v1/me", headers=bearer(carol["access_token"]))).status_code == 200

    out = await client.delete(f"/v1/me/sessions/{phone_id}", headers=bearer(laptop["access_token"]))
    assert out.status_code == 204
    assert (await client.get("/v1/me", headers=bearer(phone["access_token"]))).status_code == 401
    dead = await client.post("/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert dead.status_code == 401
    left = await client.get("/v1/me/sessions", headers=bearer(laptop["access_token"]))
    assert [s["id"] for s in left.json()["sessions"]] == [laptop_id]

    everywhere = await client.delete("/v1/me/sessions", headers=bearer(laptop["access_token"]))
    assert everywhere.status_code == 204
    assert (await client.get("/v1/me", headers=bearer(laptop["access_token"]))).status_code == 401
    gone = await client.post("/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]})
    assert gone.status_code == 401
    assert (await client.get("/v1/me", headers=bearer(carol["access_token"]))).status_code == 200

    events = await services_of(server).audit_repository.list_by_action("auth.session_revoked")
    assert [(e.user_id, e.target_id) for e in events] == [(laptop["user"]["id"], phone_id)]
    everywhere_events = await services_of(server).audit_repository.list_by_action(
        "auth.signed_out_everywhere"
    )
    assert [e.user_id for e in everywhere_events] == [laptop["user"]["id"]]


def test_a_session_shows_the_network_not_the_address() -> None:
    assert network_prefix("203.0.113.77") == "203.0.113.0/24"
    assert network_prefix("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert network_prefix("::ffff:198.51.100.9") == "198.51.100.0/24"
    assert network_prefix("testclient") is None
    assert network_prefix(None) is None


async def test_the_purge_deletes_expired_links(db: Database) -> None:
    user = await UserRepository(db).create(email="p@example.org", name="P", password_hash=None)
    links = EmailTokenRepository(db)
    for ttl in (timedelta(hours=-1), timedelta(hours=1)):
        await links.issue(EmailPurpose.verify_email, user_id=user.id, email=user.email, ttl=ttl)
    expired = await delete_expired_credentials(db)
    assert expired["email_tokens"] == 1
    assert await db.fetchval("SELECT count(*) FROM email_tokens") == 1


# Supabase --------------------------------------------------------------------------------


async def test_with_supabase_the_account_routes_leave_it_to_supabase(settings: Settings) -> None:
    from tests.server.test_supabase import PROJECT_URL, SECRET, hs256

    configured = settings.model_copy(
        update={
            "auth_provider": "supabase",
            "supabase_url": PROJECT_URL,
            "supabase_jwt_secret": SecretStr(SECRET),
        }
    )
    async with mail_site(configured) as (_, http):
        auth = bearer(hs256(email_verified=True))
        confirmed = await http.patch("/v1/me", headers=auth, json={"confirm_age_16": True})
        assert confirmed.status_code == 200, confirmed.text
        token = {"token": "A" * 43}
        calls = [
            ("/v1/auth/verify-email", token, None),
            ("/v1/auth/verify-email/resend", None, auth),
            ("/v1/auth/password/forgot", {"email": "ada@example.org"}, None),
            ("/v1/auth/password/reset", {**token, "password": NEW_PASSWORD}, None),
            ("/v1/auth/email/confirm", token, None),
            ("/v1/me/email", {"email": "new@example.org", "password": PASSWORD}, auth),
            ("/v1/me/password", {"current_password": "x", "new_password": NEW_PASSWORD}, auth),
        ]
        for path, body, headers in calls:
            response = await http.post(path, json=body, headers=headers)
            assert response.status_code == 409, (path, response.text)
            assert error_code(response) == "managed_by_identity_provider", path
