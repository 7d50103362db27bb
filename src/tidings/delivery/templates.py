"""Customer-authored text is Liquid, rendered in a sandbox with loop, output and nesting limits."""

from __future__ import annotations

from typing import Any

from liquid import Environment
from liquid.template import BoundTemplate


class SafeEnvironment(Environment):
    """A Liquid environment whose limits keep a hostile template from eating the worker."""

    loop_iteration_limit = 10_000
    output_stream_limit = 1_000_000
    context_depth_limit = 30
    local_namespace_limit = 100_000


class TemplateCache:
    """Parses each template source once per process."""

    def __init__(self) -> None:
        self.environment = SafeEnvironment()
        self._parsed: dict[str, BoundTemplate] = {}

    def render(self, source: str, variables: dict[str, Any]) -> str:
        template = self._parsed.get(source)
        if template is None:
            template = self.environment.from_string(source)
            if len(self._parsed) < 10_000:
                self._parsed[source] = template
        return template.render(**variables)


def customer_variables(row: Any) -> dict[str, Any]:
    """The `customer` object templates see."""
    fields = (
        "external_id",
        "email",
        "phone",
        "first_name",
        "last_name",
        "middle_name",
        "gender",
        "city",
        "timezone",
        "store_code",
    )
    variables: dict[str, Any] = {field: row[field] for field in fields}
    variables["birthday"] = row["birthday"].isoformat() if row["birthday"] else None
    variables["points"] = float(row["points_balance"])
    variables.update(row["attributes"] or {})
    return variables
