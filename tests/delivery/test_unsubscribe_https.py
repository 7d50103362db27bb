"""RFC 8058: the one-click unsubscribe URL of bulk mail must be https. Outside demo mode Tidings refuses to start
sending e-mail through SMTP when TIDINGS_PUBLIC_URL, which that URL is built from, is http."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tidings.api.app import create_app
from tidings.cli import app as cli
from tidings.settings import NO_HTTPS_UNSUBSCRIBE, Settings

KEY = "k" * 32


def test_smtp_with_an_http_public_url_is_refused_naming_the_setting(tmp_path: Path) -> None:
    environment = {
        "TIDINGS_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
        "TIDINGS_SECRET_KEY": KEY,
        "TIDINGS_EMAIL_PROVIDER": "smtp",
        "TIDINGS_PUBLIC_URL": "http://mail.example.com",
    }
    expected = NO_HTTPS_UNSUBSCRIBE.format(url="http://mail.example.com")
    for command in (["worker"], ["run"], ["serve"]):
        refused = CliRunner().invoke(cli, command, env=environment)
        assert refused.exit_code == 2, command
        assert " ".join(refused.output.split()).endswith(expected), refused.output
    assert "Set TIDINGS_PUBLIC_URL to the https://" in expected

    with pytest.MonkeyPatch.context() as patch:  # the ASGI factory, configured by the environment alone
        for name, value in environment.items():
            patch.setenv(name, value)
        with pytest.raises(ValueError, match=r"TIDINGS_PUBLIC_URL is 'http://mail\.example\.com'"):
            create_app()


def test_https_or_the_sandbox_may_send() -> None:
    Settings(email_provider="smtp", public_url="https://mail.example.com").check_public_url()
    Settings(email_provider="sandbox", public_url="http://127.0.0.1:8000").check_public_url()
    with pytest.raises(ValueError, match="RFC 8058"):
        Settings(email_provider="smtp", public_url="http://127.0.0.1:8000").check_public_url()
