"""Signing in and out, the session cookie, CSRF, throttling, expiry; API keys; the first admin from the command
line."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pwdlib import PasswordHash
from sqlalchemy import select, text
from typer.testing import CliRunner

from tests.api.conftest import serve
from tests.api.helpers import error_of
from tests.conftest import QUICK_PASSWORDS, START
from tidings.accounts import ACCOUNT_FAILURES, ADDRESS_FAILURES
from tidings.api.app import create_app
from tidings.cli import _secret_key
from tidings.cli import app as cli
from tidings.core.clock import ManualClock
from tidings.model.users import UserIn
from tidings.services import Services
from tidings.settings import DEVELOPMENT_SECRET_KEY, NO_SECRET_KEY, Settings
from tidings.store.tables import api_keys, sessions, users

PASSWORD = "correct horse battery"
#: The parameters of pwdlib's ``PasswordHash.recommended()`` (argon2-cffi's defaults), as a hash names them.
RECOMMENDED = PasswordHash.recommended().hash(PASSWORD).rsplit("$", 2)[0]


@pytest.fixture
def origin(services: Services) -> Iterator[str]:
    with serve(create_app(services=services)) as url:
        yield url


@pytest.fixture
def browser(origin: str) -> Iterator[httpx.Client]:
    """A client that keeps cookies, as a browser does, and sends nothing else on its own."""
    with httpx.Client(base_url=f"{origin}/api/v1", timeout=30, trust_env=False) as http:
        yield http


def add_user(client: httpx.Client, email: str, role: str = "marketer", password: str = PASSWORD) -> int:
    created = client.post("/users", json={"email": email, "name": "Mia", "role": role, "password": password})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def sign_in(http: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return http.post("/session", json={"email": email, "password": password})


def test_sign_in_use_the_session_and_sign_out(client: httpx.Client, browser: httpx.Client) -> None:
    add_user(client, "mia@example.com")
    signed_in = sign_in(browser, "MIA@example.com")
    assert signed_in.status_code == 200, signed_in.text
    cookie = signed_in.headers["set-cookie"].lower()
    assert cookie.startswith("tidings_session=")
    assert {"httponly", "samesite=strict", "path=/"} <= {part.strip() for part in cookie.split(";")}
    body = signed_in.json()
    assert (body["caller"]["kind"], body["caller"]["role"], body["caller"]["name"]) == ("user", "marketer", "Mia")
    csrf = {"X-CSRF-Token": body["csrf_token"]}
    assert browser.get("/session").json() == body
    assert browser.get("/campaigns").status_code == 200

    created = browser.post("/customers", json={"customers": [{"external_id": "ann"}]}, headers=csrf)
    assert created.status_code == 200, created.text
    assert browser.delete("/session", headers=csrf).status_code == 204
    assert error_of(browser.get("/campaigns"), 401)["code"] == "auth.required"


def test_a_change_by_cookie_without_the_csrf_token_is_refused(client: httpx.Client, browser: httpx.Client) -> None:
    add_user(client, "mia@example.com")
    token = sign_in(browser, "mia@example.com").json()["csrf_token"]
    change = {"customers": [{"external_id": "ann"}]}
    assert error_of(browser.post("/customers", json=change), 403)["code"] == "auth.csrf"
    assert error_of(browser.post("/customers", json=change, headers={"X-CSRF-Token": "x" + token}), 403)
    # a form posted from another site: the browser sends the cookie, never the token
    form = browser.post("/campaigns/1/pause", content=b"a=b", headers={"content-type": "text/plain"})
    assert error_of(form, 403)["code"] == "auth.csrf"
    assert error_of(browser.delete("/session"), 403)["code"] == "auth.csrf"
    assert client.get("/customers/ann").status_code == 404  # nothing was changed
    assert browser.get("/campaigns").status_code == 200  # reading needs no token


def test_wrong_credentials_are_refused_alike(client: httpx.Client, browser: httpx.Client) -> None:
    mia = add_user(client, "mia@example.com")
    add_user(client, "leo@example.com")
    client.post("/users", json={"email": "nopass@example.com", "name": "N", "role": "admin"})
    client.patch(f"/users/{mia}", json={"active": False})
    for email, password in (
        ("leo@example.com", "wrong password"),
        ("nobody@example.com", PASSWORD),
        ("mia@example.com", PASSWORD),  # deactivated
        ("nopass@example.com", PASSWORD),  # no password: cannot sign in
    ):
        error = error_of(sign_in(browser, email, password), 401)
        assert error["message"] == "the e-mail or the password is wrong", email
    missing = error_of(browser.post("/session", json={"email": "leo@example.com"}), 422)
    assert missing["details"][0]["field"] == "password"


def test_deactivating_a_user_ends_their_sessions_at_once(client: httpx.Client, browser: httpx.Client) -> None:
    mia = add_user(client, "mia@example.com")
    sign_in(browser, "mia@example.com")
    assert browser.get("/campaigns").status_code == 200
    client.patch(f"/users/{mia}", json={"active": False})
    assert browser.get("/campaigns").status_code == 401


def test_guessing_is_throttled_per_account_and_per_address(client: httpx.Client, browser: httpx.Client) -> None:
    add_user(client, "mia@example.com")
    add_user(client, "leo@example.com")
    for _ in range(ACCOUNT_FAILURES):
        error_of(sign_in(browser, "mia@example.com", "guess"), 401)
    throttled = error_of(sign_in(browser, "mia@example.com"), 429)  # even the right password, for a while
    assert throttled["code"] == "auth.throttled"
    assert sign_in(browser, "leo@example.com").status_code == 200  # another account is not locked out

    for number in range(ADDRESS_FAILURES - ACCOUNT_FAILURES):  # many accounts guessed from one address
        error_of(sign_in(browser, f"guess{number}@example.com", "guess"), 401)
    assert error_of(sign_in(browser, "leo@example.com"), 429)["code"] == "auth.throttled"


def test_a_session_expires(database_url: str) -> None:
    wall = ManualClock(START)
    settings = Settings(database_url=database_url, clock="manual", session_hours=1, **QUICK_PASSWORDS)
    services = Services.build(settings, wall=wall)
    try:
        with services.db.engine.begin() as conn:
            services.accounts.create_user(
                conn, UserIn(email="mia@example.com", name="Mia", role="analyst", password=PASSWORD)
            )
        with (
            serve(create_app(services=services)) as url,
            httpx.Client(base_url=f"{url}/api/v1", trust_env=False) as browser,
        ):
            sign_in(browser, "mia@example.com")
            wall.set(START + timedelta(minutes=59))
            assert browser.get("/campaigns").status_code == 200
            wall.set(START + timedelta(hours=1))
            assert error_of(browser.get("/campaigns"), 401)["message"] == "the session has ended; sign in again"
    finally:
        services.close()


def test_keys_are_shown_once_stored_hashed_and_stop_at_once_when_revoked(
    client: httpx.Client, browser: httpx.Client, services: Services
) -> None:
    created = client.post("/keys", json={"name": "Shop backend", "scopes": ["customers:write", "customers:read"]})
    assert created.status_code == 201, created.text
    body = created.json()
    token = body["key"]
    assert token.startswith("tdk_") and body["prefix"] == token[:12]
    assert body["scopes"] == ["customers:read", "customers:write"]
    listed = client.get("/keys").json()
    assert listed["total"] == 1 and "key" not in listed["items"][0]
    with services.db.engine.connect() as conn:
        stored = conn.execute(select(api_keys)).mappings().one()
        dump = conn.execute(text("SELECT * FROM api_keys")).all()
    assert token not in str(dump) and stored["key_hash"] != token

    bearer = {"Authorization": f"Bearer {token}"}
    assert browser.post("/customers", json={"customers": [{"external_id": "ann"}]}, headers=bearer).status_code == 200
    assert browser.get("/customers/ann", headers=bearer).status_code == 200  # no CSRF token: a key is no cookie
    assert error_of(browser.get("/campaigns", headers=bearer), 403)["details"] == {"needs": "campaigns:read"}
    assert browser.get("/session", headers=bearer).json()["caller"]["kind"] == "key"

    assert client.delete(f"/keys/{body['id']}").status_code == 204
    assert error_of(browser.get("/customers/ann", headers=bearer), 401)["code"] == "auth.required"
    assert client.get("/keys").json()["items"][0]["revoked_at"] is not None
    error_of(client.delete("/keys/999"), 404)
    for refused, field in (
        ({"name": "x", "scopes": ["users:write"]}, "scopes[0]"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"scopes": ["customers:read"]}, "name"),
    ):
        assert error_of(client.post("/keys", json=refused), 422)["details"][0]["field"] == field


def test_the_first_admin_from_the_command_line(database_url: str, services: Services, browser: httpx.Client) -> None:
    runner = CliRunner()
    environment = {"TIDINGS_DATABASE_URL": database_url, "TIDINGS_PASSWORD": PASSWORD}
    made = runner.invoke(cli, ["users", "create", "--admin", "root@example.com"], env=environment)
    assert made.exit_code == 0, made.output
    again = runner.invoke(cli, ["users", "create", "--admin", "root@example.com"], env=environment)
    assert again.exit_code == 1 and "exists already" in again.output
    short = runner.invoke(cli, ["users", "create", "x@example.com"], env={**environment, "TIDINGS_PASSWORD": "short"})
    assert short.exit_code == 2 and "password" in short.output
    with services.db.engine.connect() as conn:
        role, password_hash = conn.execute(select(users.c.role, users.c.password_hash)).one()
        assert conn.execute(select(sessions)).first() is None
    assert role == "admin"
    # the command line hashed it at the production parameters (the tests' own services use quick ones)
    assert password_hash.startswith(f"{RECOMMENDED}$")
    assert sign_in(browser, "root@example.com").json()["caller"]["role"] == "admin"


def test_passwords_are_hashed_with_the_recommended_argon2id_unless_set_otherwise(tmp_path: Path) -> None:
    production = Services.build(Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}"))
    quick = Services.build(Settings(database_url=f"sqlite:///{tmp_path / 'b.db'}", **QUICK_PASSWORDS))
    try:
        assert production.accounts.hash_password(PASSWORD).startswith(f"{RECOMMENDED}$")
        quick_hash = quick.accounts.hash_password(PASSWORD)
        assert quick_hash.startswith("$argon2id$v=19$m=8,t=1,p=1$")
        # a stored hash names its parameters: each side verifies the other's
        assert production.accounts.hasher.verify(PASSWORD, quick_hash)
        assert quick.accounts.hasher.verify(PASSWORD, production.accounts.hash_password(PASSWORD))
    finally:
        production.close()
        quick.close()


def test_the_server_refuses_to_start_without_a_secret_key(database_url: str) -> None:
    runner = CliRunner()
    for command in (["serve"], ["worker"], ["run"]):
        refused = runner.invoke(cli, command, env={"TIDINGS_DATABASE_URL": database_url})
        assert refused.exit_code == 2, command
        assert " ".join(refused.output.split()).endswith(NO_SECRET_KEY), refused.output
    with pytest.raises(ValueError, match="TIDINGS_SECRET_KEY is not set"):
        create_app()  # the ASGI factory, configured by the environment alone
    with pytest.raises(ValueError, match="TIDINGS_SECRET_KEY is not set"):
        Settings().check_secret_key()
    Settings(secret_key="k" * 32).check_secret_key()


def test_demo_mode_makes_a_secret_key_and_keeps_it_beside_the_database(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    first = _secret_key(settings, demo=True).secret_key.get_secret_value()
    kept = tmp_path / "tidings-secret-key"
    assert kept.read_text() == first and len(first) >= 32 and first != DEVELOPMENT_SECRET_KEY
    assert kept.stat().st_mode & 0o077 == 0  # private to its owner
    assert _secret_key(settings, demo=True).secret_key.get_secret_value() == first  # kept across restarts
    own = Settings(database_url=settings.database_url, secret_key="k" * 32)
    assert _secret_key(own, demo=True).secret_key.get_secret_value() == "k" * 32
