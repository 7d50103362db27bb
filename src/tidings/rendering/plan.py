"""The top level of a parsed template, prepared once so that what most customer-authored text is made of renders
without python-liquid's machinery: literal text, and output statements of a variable path without filters
(``{{ customer.first_name }}``).

Public API
    ``Plan.of(template)``          the plan of a parsed template (``rendering.templates`` caches it with the parse):
                                   runs of text and lookups between the nodes python-liquid renders
    ``Plan.render_plain(vars)``    the text of a template made of text and lookups only, or None
    ``Run.text(vars, shadowed)``   a run's text, or None

A lookup takes the fast way only where python-liquid would do exactly the same: every step of its path is a key of
a ``dict``, and the value at its end is text, a whole or decimal number or nothing (``None``), written as Liquid
writes them. Anything else — a missing name (an undefined, noted by previews), a list, a date, ``size`` of a list,
a name an ``assign`` shadows — answers None, and its whole run renders through python-liquid, node by node, as
before. Tags and filters always render through python-liquid.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
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


@dataclass(frozen=True, slots=True)
class Run:
    """Consecutive statements of literal text and lookups, written as one text."""

    steps: tuple[ContentNode | Lookup, ...]

    @property
    def nodes(self) -> list[Node]:
        """Its statements as python-liquid renders them."""
        return [step.node if isinstance(step, Lookup) else step for step in self.steps]

    def text(self, variables: Mapping[str, object], shadowed: Container[str] = ()) -> str | None:
        """Its text, or None when one of its lookups answers None or reads a name in ``shadowed`` (assigned)."""
        parts: list[str] = []
        for step in self.steps:
            if type(step) is ContentNode:
                parts.append(step.text)
                continue
            assert type(step) is Lookup  # a run holds nothing else
            text = None if step.root in shadowed else step.text(variables)
            if text is None:
                return None
            parts.append(text)
        return "".join(parts)


#: A template's top level: runs of text and lookups between the nodes python-liquid renders.
Step = Run | Node


@dataclass(frozen=True, slots=True)
class Plan:
    steps: tuple[Step, ...]

    @classmethod
    def of(cls, template: BoundTemplate) -> Plan:
        steps: list[Step] = []
        run: list[ContentNode | Lookup] = []
        for node in template.nodes:
            step = node if type(node) is ContentNode else Lookup.of(node)
            if step is None:
                if run:
                    steps.append(Run(tuple(run)))
                    run = []
                steps.append(node)
            else:
                run.append(step)
        if run:
            steps.append(Run(tuple(run)))
        return cls(tuple(steps))

    def render_plain(self, variables: Mapping[str, object]) -> str | None:
        """The text of a template made of one run, or None when it holds more or its run answers None."""
        if not self.steps:
            return ""
        if len(self.steps) > 1 or type(self.steps[0]) is not Run:
            return None
        return self.steps[0].text(variables)
