"""The one sanitizer every untrusted string passes through before a terminal sees it."""

from __future__ import annotations

import re

from evaltui.sanitize import is_clean, visible

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def test_every_control_character_becomes_visible() -> None:
    hostile = "".join(chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)])
    shown = visible(hostile)
    assert CONTROL.search(shown) is None
    assert shown.startswith("\u2400\u2401")  # NUL, SOH as control pictures
    assert "\u241b" in shown  # ESC
    assert "\u27e89B\u27e9" in shown  # 8-bit CSI


def test_osc_title_and_markup_stay_literal() -> None:
    shown = visible("\x1b]0;TITLE\x07[reverse]x[/reverse]")
    assert shown == "\u241b]0;TITLE\u2407[reverse]x[/reverse]"
    assert is_clean(shown)


def test_bidi_overrides_are_named() -> None:
    shown = visible("admin\u202eexe.txt\u2066")
    assert shown == "admin\u27e8RLO\u27e9exe.txt\u27e8LRI\u27e9"


def test_newlines_kept_only_in_multiline_mode() -> None:
    assert visible("a\nb") == "a\u240ab"
    assert visible("a\nb\tc", multiline=True) == "a\nb\u2409c"


def test_truncation_marks_what_was_cut() -> None:
    shown = visible("x" * 1_000_000, limit=10)
    assert shown == "xxxxxxxxxx\u2026 (+999,990 chars)"


def test_plain_text_passes_unchanged() -> None:
    text = "Grüße 日本語 😀 [not markup]"
    assert visible(text) == text and is_clean(text)
    assert visible(None) == ""


INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}
# Reserved or unassigned today, but default-ignorable (invisible) and in the blocks newer Unicode
# versions fill with format characters: replaced too, and nothing else outside the categories is.
RESERVED_INVISIBLE = {0x2065, 0xE0000, *range(0xE0002, 0xE0020), *range(0x13439, 0x13440)}


def test_every_invisible_code_point_becomes_visible_and_nothing_else_changes() -> None:
    import sys
    import unicodedata

    wrong = []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        invisible = unicodedata.category(char) in INVISIBLE_CATEGORIES
        replaced = visible(char) != char
        if replaced != (invisible or code in RESERVED_INVISIBLE):
            wrong.append(f"U+{code:04X} {unicodedata.category(char)} replaced={replaced}")
    assert wrong == []


def test_zero_width_and_separator_characters_are_named() -> None:
    shown = visible("a\u200bb\u200cc\u200dd\u2060e\ufefff\u2028g\u2029h\u00adi")
    assert shown == ("a⟨ZWSP⟩b⟨ZWNJ⟩c⟨ZWJ⟩d⟨WJ⟩e⟨BOM⟩f⟨LSEP⟩g⟨PSEP⟩h⟨SHY⟩i")
    assert visible("tag\U000e0041") == "tag⟨E0041⟩"
    assert visible("lone \ud800") == "lone ⟨D800⟩"
    assert visible("x\u2028y", multiline=True) == "x⟨LSEP⟩y"  # only \n is kept as a line break
    assert not is_clean("id\u200b")


def test_the_input_refuses_exactly_what_the_sanitizer_replaces() -> None:
    import sys

    from evaltui.tui.widgets.safe_input import PRINTABLE

    printable = re.compile(PRINTABLE)
    wrong = [
        f"U+{code:04X}"
        for code in range(sys.maxunicode + 1)
        if (printable.fullmatch(chr(code)) is None) != (visible(chr(code)) != chr(code))
    ]
    assert wrong == []
