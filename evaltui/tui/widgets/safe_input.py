"""A text input that can never draw a control character.

Textual's `Input` draws its value as it is: a pasted ESC or OSC sequence, or a value the app sets
from an untrusted source (an environment variable, a folder name), would reach the terminal. This
input refuses typed and pasted control, zero-width, bidi and separator characters (the `restrict`
pattern, which Textual checks on every insertion), and any value set from code passes through
`sanitize.visible()` first, so what is shown, and later signed, is exactly the visible text.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Input

from evaltui.sanitize import UNSAFE_CHARS, visible

# none of what `sanitize.visible()` would replace: controls, format (zero-width, bidi) and separators
PRINTABLE = f"[^{UNSAFE_CHARS}]*"


class SafeInput(Input):
    HELP_NAME = "text box"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("restrict", PRINTABLE)
        super().__init__(*args, **kwargs)

    def validate_value(self, value: str) -> str:
        return visible(value)
