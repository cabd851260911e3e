"""Make untrusted text safe to show in a terminal.

Case inputs, model outputs, ids and file names come from outside. Textual and Rich pass ESC and
other control bytes straight to the terminal, so a model output could retitle the window, write
the clipboard (OSC 52) or clear the screen. Everything shown goes through `visible()` first; it
turns every C0/C1 control character, DEL, bidirectional control, zero-width and other format
character (Unicode category Cf), line and paragraph separator (Zl, Zp) and lone surrogate (Cs)
into a visible placeholder, so two ids that differ only by an invisible character never look the
same. Markup is never interpreted: callers wrap the result in `rich.text.Text`, never in a markup
string.
"""

from __future__ import annotations

import re

# C0 controls map onto the Unicode "Control Pictures" block (U+2400 + code), DEL onto U+2421.
_C0_PICTURES = {code: chr(0x2400 + code) for code in range(0x20)}
_C0_PICTURES[0x7F] = "\u2421"

# Bidirectional controls can reorder what the reviewer reads (Trojan Source); show them by name.
_BIDI = {
    0x061C: "ALM",
    0x200E: "LRM",
    0x200F: "RLM",
    0x202A: "LRE",
    0x202B: "RLE",
    0x202C: "PDF",
    0x202D: "LRO",
    0x202E: "RLO",
    0x2066: "LRI",
    0x2067: "RLI",
    0x2068: "FSI",
    0x2069: "PDI",
}

# Invisible characters that make two different strings look the same, shown by a short name.
_INVISIBLE = {
    0x00AD: "SHY",
    0x200B: "ZWSP",
    0x200C: "ZWNJ",
    0x200D: "ZWJ",
    0x2028: "LSEP",
    0x2029: "PSEP",
    0x2060: "WJ",
    0xFEFF: "BOM",
}

# What `visible()` replaces, as the inside of a regex character class: every code point of the
# categories Cc (C0, DEL, C1), Cf (format: zero-width, bidi, soft hyphen, tags...), Zl, Zp and Cs,
# as of Unicode 14 (Python 3.11), plus the Cf blocks later versions fill (Egyptian format controls
# up to U+1343F, the reserved U+2065, the whole tag block). tests/test_sanitize.py checks it
# against every code point of the running Python. `multiline=True` keeps the line feed out of it.
_UNSAFE_BUT_LINE_FEED = (
    "\x00-\x09\x0b-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    "\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f"
)
UNSAFE_CHARS = "\n" + _UNSAFE_BUT_LINE_FEED
_UNSAFE = re.compile(f"[{UNSAFE_CHARS}]")
_UNSAFE_KEEP_NEWLINES = re.compile(f"[{_UNSAFE_BUT_LINE_FEED}]")

ELLIPSIS = "\u2026"


def _placeholder(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code in _C0_PICTURES:
        return _C0_PICTURES[code]
    if code in _BIDI:
        return f"\u27e8{_BIDI[code]}\u27e9"
    if code in _INVISIBLE:
        return f"\u27e8{_INVISIBLE[code]}\u27e9"
    return f"\u27e8{code:02X}\u27e9"  # C1 control or format character: CSI 0x9B becomes <9B>


def visible(value: object, *, limit: int | None = None, multiline: bool = False) -> str:
    """Return `value` as text with every control character replaced by a visible placeholder.

    `limit` truncates for display (the store keeps the full value) with a marker that says how much
    was cut. `multiline=True` keeps line feeds for detail views; everything else is one line.
    """
    text = "" if value is None else str(value)
    cut = 0
    if limit is not None and len(text) > limit:
        cut = len(text) - limit
        text = text[:limit]
    pattern = _UNSAFE_KEEP_NEWLINES if multiline else _UNSAFE
    text = pattern.sub(_placeholder, text)
    if cut:
        text += f"{ELLIPSIS} (+{cut:,} chars)"
    return text


def is_clean(text: str) -> bool:
    """True when `text` contains nothing `visible()` would replace."""
    return _UNSAFE.search(text) is None
