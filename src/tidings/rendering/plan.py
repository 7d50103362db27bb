"""The top level of a parsed template, prepared once so that what most customer-authored text is made of renders
without python-liquid's machinery: literal text, and output statements of a variable path without filters
(``{{ customer.first_name }}``).

Public API
    ``Plan.of(template)``          the plan of a parsed template (``rendering.templates`` caches it with the parse)
    ``Plan.render_plain(vars)``    the text of a template made of text and lookups only, or None
    ``Lookup.text(vars)``          one lookup's output, or None

A lookup takes the fast way only where python-liquid would do exactly the same: every step of its path is a key of
a ``dict``, and the value at its end is text, a whole or decimal number or nothing (``None``), written as Liquid
writes them. Anything else — a missing name (an undefined, noted by previews), a list, a date, ``size`` of a list,
a name an ``assign`` shadows — answers None, and the statement renders through python-liquid as before; so does a
whole plain template when one of its lookups answers None. Tags and filters always render through python-liquid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from liquid.ast import Node
from liquid.builtin.content import ContentNode
from liquid.builtin.expressions import FilteredExpression, Path
from liquid.builtin.output import OutputNode
from liquid.template import BoundTemplate

_MISSING = object()
#: Whole numbers this big or bigger go the slow way, where one too long to write is a render error.
_BIG = 10**100


@dataclass(frozen=True, slots=True)
class Lookup:
    """An output statement ``{{ root.key.key }}``; ``node`` renders it when the fast way does not apply."""

    root: str
    keys: tuple[str, ...]
    node: OutputNode

    @classmethod
    def of(cls, node: Node) -> Lookup | None:
        if type(node) is not OutputNode or type(node.expression) is not FilteredExpression:
            return None
        path = node.expression.left
        if node.expression.filters or type(path) is not Path:
            return None
        names = [segment for segment in path.path if type(segment) is str]
        if not names or len(names) != len(path.path):
            return None
        return cls(names[0], tuple(names[1:]), node)

    def text(self, variables: Mapping[str, object]) -> str | None:
        """What the statement writes, when its path runs through dicts to text, a number or nothing; else None."""
        value = variables.get(self.root, _MISSING)
        for key in self.keys:
            if type(value) is not dict:
                return None
            value = value.get(key, _MISSING)
        if type(value) is str:
            return value
        if type(value) is float or (type(value) is int and -_BIG < value < _BIG):  # not bool: Liquid writes "true"
            return str(value)
        if value is None:
            return ""
        return None


#: One statement of a template's top level: a lookup, or a node python-liquid renders (literal text among them).
Step = Lookup | Node


@dataclass(frozen=True, slots=True)
class Plan:
    steps: tuple[Step, ...]
    plain: bool  # literal text and lookups only

    @classmethod
    def of(cls, template: BoundTemplate) -> Plan:
        steps = tuple(Lookup.of(node) or node for node in template.nodes)
        return cls(steps, all(type(step) is ContentNode or type(step) is Lookup for step in steps))

    def render_plain(self, variables: Mapping[str, object]) -> str | None:
        """The text of a plain template, or None when it is not plain or one of its lookups answers None."""
        if not self.plain:
            return None
        parts: list[str] = []
        for step in self.steps:
            if type(step) is ContentNode:
                parts.append(step.text)
                continue
            assert type(step) is Lookup  # a plain plan holds nothing else
            text = step.text(variables)
            if text is None:
                return None
            parts.append(text)
        return "".join(parts)
