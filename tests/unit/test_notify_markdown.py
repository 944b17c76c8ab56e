"""MarkdownV2 escaping rules of the Bot API."""

from shared.notify import markdown as md


def test_every_reserved_character_is_escaped():
    assert md.escape("_*[]()~`>#+-=|{}.!") == "\\_\\*\\[\\]\\(\\)\\~\\`\\>\\#\\+\\-\\=\\|\\{\\}\\.\\!"


def test_backslash_is_escaped_first_and_once():
    assert md.escape("C:\\path\\_x") == "C:\\\\path\\\\\\_x"


def test_ordinary_text_and_emoji_pass_unchanged():
    assert md.escape("Hello 🚀 PnL: 12,34 % & ok? <b") == "Hello 🚀 PnL: 12,34 % & ok? <b"


def test_code_escapes_only_backtick_and_backslash():
    assert md.code("a_b.c `x` \\") == "`a_b.c \\`x\\` \\\\`"


def test_entities_wrap_escaped_text():
    assert md.bold("v1.2") == "*v1\\.2*"
    assert md.italic("2024-05-01") == "_2024\\-05\\-01_"
    assert md.link("docs (v2)", "https://x.org/a_(b)") == "[docs \\(v2\\)](https://x.org/a_(b\\))"
