"""The plain-text alternative of an HTML e-mail: paragraphs, line breaks, list items and link targets kept.

One regular expression splits the HTML into comments, raw-text elements (``script``, ``style``: skipped whole),
tags and text, and a small loop turns them into text — several times faster than ``html.parser``, which matters
because every e-mail sent over SMTP carries one (a personalised body cannot be converted once per campaign).
Entities are decoded as a browser would; text inside ``head``, ``title`` and ``template`` is left out; each link
is followed by its target in parentheses unless the target is what the link says (``mailto:``) or a page anchor.
"""

from __future__ import annotations

import re
from html import unescape

# A tag must close within 1,000 characters (checked by one bounded look ahead), and its parts are possessive and
# atomic, so no alternative overlaps another: a stray '<' or quote in the text — customer data reaches it unescaped
# — costs at most that look ahead, never a backtracking search over the rest of the text. A longer "tag" is text.
_CLOSES = r"(?=[^>]{0,1000}+>)"
_ATTRIBUTES = r"((?>[^>\"']++|\"[^\"]*+\"|'[^']*+')*+)"
_TOKENS = re.compile(
    r"<!--.*?(?:-->|\Z)"  # a comment (an unclosed one hides the rest: one pass)
    r"|<" + _CLOSES + r"(script|style)\b" + _ATTRIBUTES[1:-1] + r">.*?(?:</\1\s*>|\Z)"  # raw text, never shown
    r"|<" + _CLOSES + r"(/?)([A-Za-z][^\s/>\"'<]*+)" + _ATTRIBUTES + r">"  # a start or end tag
    r"|<[!?][^>]{0,1000}+>"  # a doctype or processing instruction
    r"|([^<]++|<)",  # text
    re.DOTALL | re.IGNORECASE,
)
_ATTRIBUTE = re.compile(r"""([^\s"'>/=]+)(?:\s*=+\s*('[^']*'|"[^"]*"|(?!['"])[^>\s]*))?""")
_SPACES = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")

_BLOCKS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
    }
)
_HIDDEN = frozenset({"head", "template", "title"})  # script and style are skipped by the tokenizer


def html_to_text(body_html: str) -> str:
    """A readable plain-text rendering of an HTML body."""
    parts: list[str] = []
    hidden = 0
    pre = 0
    links: list[tuple[str | None, int]] = []
    for match in _TOKENS.finditer(body_html):
        text = match.group(5)
        if text is not None:
            if not hidden:
                text = unescape(text)
                parts.append(text if pre else _SPACES.sub(" ", text))
            continue
        tag = match.group(3)
        if tag is None:  # a comment, script, style or declaration
            continue
        tag = tag.lower()
        if match.group(2):  # an end tag
            if tag in _HIDDEN:
                hidden = max(0, hidden - 1)
            elif tag == "a" and links:
                href, start = links.pop()
                label = "".join(parts[start:]).strip()
                if href and not href.startswith(("#", "javascript:")) and href.removeprefix("mailto:") != label:
                    parts.append(f" ({href})" if label else href)
            elif tag == "pre":
                pre = max(0, pre - 1)
            if tag in _BLOCKS:
                parts.append("\n\n")
            continue
        attributes = match.group(4)
        if tag == "body":  # an unclosed <head> or <title> ends where the body starts
            hidden = 0
        if tag in _HIDDEN:
            hidden += 0 if attributes.rstrip().endswith("/") else 1
        elif tag == "br":
            parts.append("\n")
        elif tag == "li":
            parts.append("\n- ")
        elif tag in ("td", "th"):
            parts.append(" ")
        elif tag == "img":
            alt = _attribute(attributes, "alt")
            if alt:
                parts.append(f" {alt} ")
        elif tag == "a":
            links.append((_attribute(attributes, "href"), len(parts)))
        if tag in _BLOCKS:
            parts.append("\n\n")
        if tag == "pre":
            pre += 1
    lines = [line.strip(" \t") for line in "".join(parts).split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip() + "\n"


def _attribute(attributes: str, name: str) -> str | None:
    """The decoded value of the first attribute called ``name``; None when it is missing or has no value."""
    for match in _ATTRIBUTE.finditer(attributes):
        if match.group(1).lower() == name:
            value = match.group(2)
            if value is None:
                return None
            if value[:1] in ("'", '"'):
                value = value[1:-1]
            return unescape(value)
    return None
