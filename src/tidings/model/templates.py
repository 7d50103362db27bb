"""``TemplateText``: a string field holding customer-authored Liquid, refused when saved if it cannot render.

A document error then names the node, the field and the line: ``node 'e1', field 'config.body_html': line 3:
'if' is never closed; add {% endif %}``.

The check runs when a document is saved or validated: ``parse_document`` puts the renderer's syntax check
(``rendering.templates.check_syntax``) into the validation context under ``TEMPLATE_CHECK``, so the vocabulary
needs no renderer of its own.
A stored version is loaded without it: a campaign saved before a rule existed keeps running, and a template of
it that cannot render fails its messages one by one with the template error instead.

The JSON Schema marks such a field ``"x-template": true`` (on the string itself, so also inside the ``anyOf`` of an
optional one): the editor shows it as a template, with a preview for a chosen customer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo

#: A syntax check: the error for a template that cannot render (its ``str`` names the line), else None.
TemplateCheck = Callable[[str], Exception | None]

#: The longest body template (``rendering.templates.Limits.source_chars``).
MAX_BODY_CHARS = 200_000

#: The validation-context key under which the syntax check is handed in.
TEMPLATE_CHECK = "check_template"


def _checked(source: str, info: ValidationInfo) -> str:
    check: TemplateCheck | None = info.context.get(TEMPLATE_CHECK) if isinstance(info.context, dict) else None
    if check is None:
        return source
    error = check(source)
    if error is not None:
        raise ValueError(str(error))
    return source


#: Marks a template in the JSON Schema; validation is unchanged.
TEMPLATE_MARKER = "x-template"

TemplateText = Annotated[str, AfterValidator(_checked), Field(json_schema_extra={TEMPLATE_MARKER: True})]
