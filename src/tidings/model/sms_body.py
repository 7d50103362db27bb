"""The body an HTTP SMS gateway is sent: a JSON template with ``{to}``, ``{text}``, ``{sender}`` and ``{key}``
placeholders (``TIDINGS_SMS_BODY_TEMPLATE``), checked when the settings are read and filled for each message."""

from __future__ import annotations

import json

_PLACEHOLDERS = ("to", "text", "sender", "key")


def check_body_template(template: str) -> None:
    """Raise ``ValueError`` unless ``template`` becomes a JSON object with the recipient and the text in it."""
    for required in ("{to}", "{text}"):
        if required not in template:
            raise ValueError(f"the SMS body template must contain {required}")
    try:
        body = json.loads(fill(template, {name: f"x{name}" for name in _PLACEHOLDERS}))
    except json.JSONDecodeError as error:
        raise ValueError(f"the SMS body template is not JSON once filled in: {error}") from None
    if not isinstance(body, dict):
        raise ValueError("the SMS body template must be a JSON object")


def fill(template: str, values: dict[str, str]) -> str:
    """Replace each ``{name}`` by its value escaped for the inside of a JSON string."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", json.dumps(value, ensure_ascii=False)[1:-1])
    return template
