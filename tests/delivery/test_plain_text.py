"""The plain-text alternative of an HTML e-mail."""

from __future__ import annotations

import pytest

from tidings.delivery.plain_text import html_to_text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("", "\n"),
        ("<p>a\n  b</p><p>c<br/>d</p><script>x()</script>", "a b\n\nc\nd\n"),
        ('<a href="mailto:x@y.z">x@y.z</a> <a href="#top">top</a>', "x@y.z top\n"),
        (
            "<html><head><style>p {color: red}</style><title>Sale</title></head><body><h1>Hi Ann</h1>"
            '<p>Our <b>winter</b> sale &amp; more.<br>See <a href="https://shop.example/sale">the sale</a>.</p>'
            "<ul><li>One</li><li>Two</li></ul></body></html>",
            "Hi Ann\n\nOur winter sale & more.\nSee the sale (https://shop.example/sale).\n\n- One\n- Two\n",
        ),
        ("<pre>a  b\n\n c</pre><p>x &lt; y &#39;z&#x27;</p>", "a  b\n\nc\n\nx < y 'z'\n"),
        ("<!DOCTYPE html><!-- <a href='x'>no</a> --><table><tr><td>a</td><th>b</th></tr></table>", "a b\n"),
        ("<img src=x alt='A &amp; B'><a href=https://e.x/q?a=1&amp;b=2>go</a>", "A & B go (https://e.x/q?a=1&b=2)\n"),
        (
            "<a>no target</a> <a href='javascript:run()'>js</a> <a href='https://x.example'></a>",
            "no target js https://x.example\n",
        ),
        ('a < b and c <d> <P>e</P> <A HREF="HTTP://X">X</A>', "a < b and c\n\ne\n\nX (HTTP://X)\n"),
        ("<template><p>kept out</p></template>shown <p title='a>b'>quoted &gt;</p>", "shown\n\nquoted >\n"),
        ("<div><p>one</p></div>\n\n\n<p>two</p>", "one\n\ntwo\n"),
        ("<p>unclosed <!-- comment", "unclosed\n"),
        ("<a href='https://a.example' href='https://b.example'>first href</a>", "first href (https://a.example)\n"),
        ("<html><head><meta charset=utf-8><title>Sale<body><p>Hello", "Hello\n"),  # head and title left open
        ('Prices <20 "EUR" and <b>bold</b> <x"<x"', 'Prices <20 "EUR" and bold <x"<x"\n'),  # stray '<' is text
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text
