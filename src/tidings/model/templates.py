"""``TemplateText``: a string field holding customer-authored Liquid, refused when saved if it cannot render.

A document error then names the node, the field and the line: ``node 'e1', field 'config.body_html': line 3:
'if' is never closed; add {% endif %}``.

The check runs when a document is saved or validated (``parse_document``, which validates with a context).
A stored version is loaded without it: a campaign saved before a rule existed keeps running, and a template of
it that cannot render fails its messages one by one with the template error instead.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, ValidationInfo

from tidings.delivery.templates import check_syntax


def _checked(source: str, info: ValidationInfo) -> str:
    if not isinstance(info.context, dict):
        return source
    error = check_syntax(source)
    if error is not None:
        raise ValueError(str(error))
    return source


TemplateText = Annotated[str, AfterValidator(_checked)]
