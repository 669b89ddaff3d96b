"""Policy bodies are Markdown written by staff and shown to everyone: the HTML that comes out
holds no script, no event handler and no link that runs code, whatever the text says."""

import pytest
from django.utils.safestring import SafeString

from opsx.markdown import render, sanitise


def test_markdown_becomes_headings_lists_emphasis_and_tables():
    html = render("## Who we are\n\n- *one*\n- **two**\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert isinstance(html, SafeString)
    assert "<h2>Who we are</h2>" in html
    assert "<li><em>one</em></li>" in html and "<strong>two</strong>" in html
    assert "<table>" in html and "<td>1</td>" in html


def test_raw_html_is_shown_as_text_never_run():
    html = render("Hello <script>alert(1)</script> <b onmouseover=alert(1)>x</b>")
    assert "<script" not in html and "<b" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_an_image_with_onerror_is_text_and_a_markdown_image_is_dropped():
    html = render('<img src=x onerror="alert(1)">\n\n![pic](https://example.com/a.png)')
    assert "<img" not in html
    assert "&lt;img src=x onerror=" in html  # as text, harmless


@pytest.mark.parametrize(
    "target",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
        "file:///etc/passwd",
    ],
)
def test_links_that_run_code_or_carry_data_are_not_links(target):
    html = render(f"[click]({target}) and <{target}>")
    assert "<a" not in html
    assert "href" not in html


def test_web_and_mail_links_stay_and_get_rel_nofollow_noopener():
    html = render("[site](https://example.com/x) [mail](mailto:team@example.com) [page](/privacy/)")
    assert '<a href="https://example.com/x" rel="nofollow noopener">site</a>' in html
    assert '<a href="mailto:team@example.com" rel="nofollow noopener">mail</a>' in html
    assert '<a href="/privacy/" rel="nofollow noopener">page</a>' in html


def test_bare_addresses_are_not_turned_into_links():
    assert "<a" not in render("see www.example.com or https://example.com")


def test_the_sanitiser_alone_strips_what_a_parser_might_let_through():
    html = sanitise(
        '<p onclick="x()">a</p><script>alert(1)</script><a href="javascript:alert(1)">j</a>'
        '<a href="https://ok.example" rel="opener" target="_blank">ok</a>'
        '<img src="data:image/png;base64,AAAA" onerror="alert(1)"><iframe src="/"></iframe>'
        '<style>body{}</style><p style="color:red">s</p>'
    )
    assert "onclick" not in html and "<script" not in html and "alert(1)" not in html
    assert "javascript:" not in html and "<img" not in html and "data:" not in html
    assert "<iframe" not in html and "<style" not in html and "style=" not in html
    assert "target=" not in html
    assert '<a href="https://ok.example" rel="nofollow noopener">ok</a>' in html


def test_empty_text_renders_nothing():
    assert render("") == "" and render(None) == ""
