"""The editor's forms speak a marketer's language: every label and help text of every action and trigger in the
served schema, and every condition field and operator in the served catalogue, is words — no field names in
snake_case, no backticks, no ISO-8601. (Liquid examples such as ``{{ customer.first_name }}`` are what a
marketer types, so they are left out of the check.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx

SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
CAMEL = re.compile(r"\b[A-Z][a-z]+[A-Z][A-Za-z]*\b")  # a model's class name, e.g. EventFilter
ABBREVIATED = re.compile(r"\b(gte|lte|gt|lt|url|op|utm)\b", re.IGNORECASE)  # a developer's short word in a label
LIQUID = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")


def jargon(text: str) -> str | None:
    """What in ``text`` is not in a marketer's words, or None."""
    plain = LIQUID.sub("", text)
    checks = (
        (SNAKE, "a field name"),
        (CAMEL, "a class name"),
        (ABBREVIATED, "an abbreviation"),
        (re.compile("`"), "a backtick"),
        (re.compile(r"ISO"), "ISO"),
    )
    for pattern, what in checks:
        found = pattern.search(plain)
        if found:
            return f"{what} ({found.group(0)!r})"
    return None


def _deref(root: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = {
            **root["$defs"][schema["$ref"].removeprefix("#/$defs/")],
            **{k: v for k, v in schema.items() if k != "$ref"},
        }
    return schema


def humanize(name: str) -> str:
    """The editor's label for a setting whose schema title is only its name (``titleOf`` in schema.ts)."""
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:].lower()


def choice_labels(schema: dict[str, Any]) -> list[str]:
    """How the form words each choice of a list of constants (``choiceLabel`` in SchemaForm.tsx)."""
    titles = schema.get("x-choice-titles", {})
    values = schema.get("enum") or [option["const"] for option in schema.get("oneOf", []) if "const" in option]
    return [titles.get(value) or humanize(value) for value in values if isinstance(value, str)]


def label(name: str, schema: dict[str, Any]) -> str:
    generated = " ".join(part[:1].upper() + part[1:] for part in name.split("_"))
    title = schema.get("title")
    return title if title and title != generated else humanize(name)


def fields(root: dict[str, Any], schema: dict[str, Any], path: str, seen: frozenset[str]) -> Iterator[tuple[str, str]]:
    """(where, text) for every label and help text a form generated from ``schema`` shows."""
    schema = _deref(root, schema)
    if schema.get("description"):
        yield path, schema["description"]
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        name = option.get("$ref", "")
        if name not in seen:
            yield from fields(root, option, path, seen | {name})
    if "items" in schema:
        yield from fields(root, schema["items"], f"{path}[]", seen)
    for name, prop in schema.get("properties", {}).items():
        resolved = _deref(root, prop)
        if "const" in resolved:
            continue
        yield f"{path}.{name}", label(name, resolved)
        inner = [_deref(root, option) for option in resolved.get("anyOf", []) if option.get("type") != "null"]
        for choices in [resolved, *inner]:
            for text in choice_labels({**choices, **{k: v for k, v in resolved.items() if k.startswith("x-")}}):
                yield f"{path}.{name}=", text
        yield from fields(root, prop, f"{path}.{name}", seen)


def node_configs(root: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for definition in root["$defs"].values():
        kind = definition.get("properties", {}).get("type", {}).get("const")
        config = definition.get("properties", {}).get("config")
        if isinstance(kind, str) and config is not None:
            yield kind, config


def test_every_label_and_help_text_of_every_form_is_in_words(client: httpx.Client) -> None:
    root = client.get("/schema/campaign").json()
    configs = dict(node_configs(root))
    assert {"send_email", "filter_customers", "wait", "event_occurred", "repeated_date"} <= set(configs)
    problems = [
        f"{kind}{where}: {found} in {text!r}"
        for kind, config in configs.items()
        for where, text in fields(root, config, "", frozenset())
        if (found := jargon(text))
    ]
    settings = root["properties"]["settings"]
    problems += [
        f"settings{where}: {found} in {text!r}"
        for where, text in fields(root, settings, "", frozenset())
        if (found := jargon(text))
    ]
    assert not problems, "\n".join(problems)


def test_the_check_catches_what_the_issue_found() -> None:
    assert jargon("ISO-8601 duration, e.g. P365D") == "ISO ('ISO')"
    assert jargon("Give this or `restart_at`") is not None
    assert jargon("Customer field code, e.g. attributes.shoe_size") == "a field name ('shoe_size')"
    assert jargon("Body html") is None and jargon("Hi {{ customer.first_name }}") is None
    assert jargon("EventFilter") == "a class name ('EventFilter')"
    assert jargon("Days since last gte") == "an abbreviation ('gte')"


def test_every_condition_field_and_operator_has_a_name_in_words(client: httpx.Client) -> None:
    declared = client.post("/custom-fields", json={"code": "loyalty_level", "name": "Loyalty level", "type": "text"})
    assert declared.status_code == 201, declared.text
    condition = client.get(str(client.base_url.copy_with(path="/ui/catalog.json"))).json()["condition"]
    titles = condition["field_titles"]
    assert set(titles) == set(condition["fields"])
    assert titles["attributes.loyalty_level"] == "Loyalty level"
    assert titles["first_name"] == "First name"
    operators = {op for ops in condition["operators"].values() for op in ops}
    assert set(condition["operator_titles"]) >= operators
    words = [*titles.values(), *condition["operator_titles"].values()]
    assert [text for text in words if jargon(text) or "_" in text] == []
