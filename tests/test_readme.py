"""The README's "A campaign in five requests", run as written against a fresh server (issue 12, item 11)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A campaign in five requests", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.S)
    assert found is not None, "the walkthrough's shell block is missing"
    return found.group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(output: str) -> list[Any]:
    """Every JSON value the commands printed, in order."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    position = 0
    while position < len(output):
        if output[position].isspace():
            position += 1
            continue
        value, position = decoder.raw_decode(output, position)
        found.append(value)
    return found


def test_the_readme_walkthrough_works_as_written(tmp_path: Path) -> None:
    """The demo campaigns held ids 1 and 2, so `activate` of campaign 1 answered "it is active" and Ann's event
    went to a demo campaign; now the walkthrough uses the id the create call returns."""
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / "docs").symlink_to(ROOT / "docs")
    environment = {name: value for name, value in os.environ.items() if not name.startswith("TIDINGS_")}
    environment["TIDINGS_PORT"] = str(free_port())  # the walkthrough's own way to another port
    script = f"set -e\ntrap 'kill %1 2>/dev/null; wait' EXIT\n{walkthrough()}"
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
    customers, activated, posted, advanced, mailbox, stats, journeys = answers(done.stdout)
    assert customers["errors"] == [] and customers["upserted"] == 1
    assert activated["status"] == "active", activated
    assert posted.get("error") is None, posted
    assert advanced.get("error") is None, advanced
    received = [(item["recipient"], item["subject"]) for item in mailbox["items"]]
    assert ("ann@example.com", "Hi Ann") in received, received  # the demo's own welcome campaign greets her too
    by_node = {node["node_id"]: node for node in stats["nodes"]}
    assert (by_node["trigger"]["performed"], by_node["e1"]["performed"]) == (1, 1)
    ours = [journey for journey in journeys["journeys"] if journey["campaign_name"] == "Welcome"]
    assert [step["node"] for step in ours[0]["steps"]][-1] == "e1", journeys
