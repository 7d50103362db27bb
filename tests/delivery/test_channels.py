"""The channels the pipeline delivers: one route per channel (``delivery.channels``), built from the settings."""

from __future__ import annotations

import subprocess
import sys
from typing import get_args

from tidings.core.delivery import Channel, Content
from tidings.delivery.channels import build_routes
from tidings.delivery.providers import SandboxProvider
from tidings.settings import Settings


def test_every_content_a_send_node_can_declare_has_its_route() -> None:
    routes = build_routes(Settings())

    assert set(routes) == set(get_args(Channel))
    assert {route.content for route in routes.values()} == set(Content.__subclasses__())
    assert all(route.content.channel == channel for channel, route in routes.items())


def test_the_channels_take_turns_in_delivery_order() -> None:
    assert list(build_routes(Settings())) == ["email", "sms", "viber", "push"]


def test_every_channel_defaults_to_the_sandbox_without_loading_a_client_library() -> None:
    script = (
        "import sys\n"
        "from tidings.delivery.channels import build_routes\n"
        "from tidings.settings import Settings\n"
        "routes = build_routes(Settings())\n"
        "print(sorted({type(route.provider).__name__ for route in routes.values()}))\n"
        "print(sorted(name for name in ('aiosmtplib', 'httpx') if name in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split("\n")

    assert out[:2] == [f"['{SandboxProvider.__name__}']", "[]"]
