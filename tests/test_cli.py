"""Set-up as a newcomer meets it: the address options, the public URL that follows them, every setting in
``tidings --help``."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tidings.cli import app
from tidings.settings import Settings


def test_the_public_url_follows_the_port_unless_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """TIDINGS_PUBLIC_URL stayed at port 8000 when the port changed: poll and tracking links pointed nowhere."""
    assert Settings().public_url == "http://127.0.0.1:8000"
    monkeypatch.setenv("TIDINGS_PORT", "9000")
    assert Settings().public_url == "http://127.0.0.1:9000"
    moved = Settings().with_address("0.0.0.0", 9100)
    assert (moved.host, moved.port, moved.public_url) == ("0.0.0.0", 9100, "http://127.0.0.1:9100")
    assert moved.with_address(port=9200).public_url == "http://127.0.0.1:9200"
    monkeypatch.setenv("TIDINGS_PUBLIC_URL", "https://mail.example.com")
    assert Settings().with_address(port=9300).public_url == "https://mail.example.com"


def test_run_and_serve_take_host_and_port() -> None:
    for command in ("run", "serve"):
        shown = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
        assert "--port" in shown and "--host" in shown, shown


def test_every_setting_is_in_the_help() -> None:
    shown = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    missing = [name for name in Settings.model_fields if f"TIDINGS_{name.upper()}" not in shown]
    assert missing == []
