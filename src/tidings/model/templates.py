"""``TemplateText``: a string field holding customer-authored Liquid, refused when saved if it cannot render.

A document error then names the node, the field and the line: ``node 'e1', field 'config.body_html': line 3:
'if' is never closed; add {% endif %}``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from tidings.delivery.templates import check_syntax


def _checked(source: str) -> str:
    error = check_syntax(source)
    if error is not None:
        raise ValueError(str(error))
    return source


TemplateText = Annotated[str, AfterValidator(_checked)]
