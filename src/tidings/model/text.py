"""Short texts with a shape: what goes into a message header, and e-mail addresses.

A header value holding a line break (CR or LF) cannot be sent: the mail library refuses it, or a relay reads
the rest as a header of its own (header injection). Refused when saved, with the field named, instead of
failing every message later.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

#: Control characters, CR and LF among them (a header is one line of printable text).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: The same rules for a JSON Schema client (the validators below give the clearer message).
ONE_LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
ADDRESS_PATTERN = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$"


def one_line(value: str) -> str:
    found = _CONTROL.search(value)
    if found is not None:
        what = {"\r": "a carriage return (CR)", "\n": "a line break (LF)"}.get(found.group(), "a control character")
        raise ValueError(f"must be one line of text, but holds {what}: it goes into a message header")
    return value


def email_address(value: str) -> str:
    one_line(value)
    if not _ADDRESS.match(value):
        raise ValueError(f"{value[:80]!r} is not an e-mail address (name@example.com)")
    return value


#: A sender name or other header text: one line, at most 200 characters.
HeaderText = Annotated[
    str,
    AfterValidator(one_line),
    Field(min_length=1, max_length=200, json_schema_extra={"pattern": ONE_LINE_PATTERN}),
]
#: An e-mail address that goes into a header (From, Reply-To).
EmailAddress = Annotated[
    str,
    AfterValidator(email_address),
    Field(min_length=3, max_length=320, json_schema_extra={"pattern": ADDRESS_PATTERN}),
]
