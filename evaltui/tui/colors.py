"""Which theme suits the terminal: the terminal's own 16 colors, or Textual's default.

Textual draws its themes in true color and lets Rich reduce them; on a 16-color terminal that
turns panels into odd blocks. There the `ansi-dark` theme, which uses the terminal's own palette,
reads better. NO_COLOR is handled by Textual itself (it strips colors); the app never relies on
color alone: markers and words carry every distinction.
"""

from __future__ import annotations

from collections.abc import Mapping

ANSI_THEME = "ansi-dark"
DEFAULT_THEME = "textual-dark"


def color_system(environ: Mapping[str, str]) -> str:
    """The color system Textual will use, by the same rules as Rich's detection."""
    chosen = environ.get("TEXTUAL_COLOR_SYSTEM", "auto").lower()
    if chosen != "auto":
        return chosen
    if environ.get("COLORTERM", "").lower() in ("truecolor", "24bit"):
        return "truecolor"
    term = environ.get("TERM", "").lower()
    if term.endswith(("-256color", "-256")):
        return "256"
    if term.endswith(("-direct", "-truecolor")) or term in (
        "xterm-kitty",
        "xterm-ghostty",
        "alacritty",
    ):
        return "truecolor"
    return "standard"


def pick_theme(environ: Mapping[str, str]) -> str:
    """The ANSI theme on 16-color terminals, unless NO_COLOR is set.

    With NO_COLOR Textual turns every color into a gray of the default theme, which a 16-color
    terminal shows as black, gray and white; the ANSI theme's "default" colors have no gray to
    turn into and would come out black on black.
    """
    if "NO_COLOR" in environ:
        return DEFAULT_THEME
    return ANSI_THEME if color_system(environ) in ("standard", "windows") else DEFAULT_THEME
