"""The command palette's one provider: every title and help text shown literally.

Textual's own system-commands provider hands titles to `Content.from_markup`, so an experiment
named `[link=https://x]y[/link]` would become a live hyperlink and one named `[/bold` would crash
the app with a MarkupError. This provider takes the same `App.get_system_commands` entries and
builds `Content` from the sanitized text instead; the fuzzy-match highlight is applied as a style
over that literal text.
"""

from __future__ import annotations

from typing import Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from evaltui.sanitize import visible

LIMIT = 200  # characters of a title or help text shown in the palette


class LiteralCommands(Provider):
    """The app's and the active screen's commands, with no markup parsed anywhere."""

    def _commands(self) -> list[tuple[str, Content, Any, bool]]:
        out = []
        for title, help_text, callback, discover in self.app.get_system_commands(self.screen):
            shown = visible(title, limit=LIMIT)
            out.append((shown, Content(visible(help_text, limit=LIMIT)), callback, discover))
        return sorted(out, key=lambda command: command[0])

    async def discover(self) -> Hits:
        for title, help_text, callback, discover in self._commands():
            if discover:
                yield DiscoveryHit(Content(title), callback, text=title, help=_help(help_text))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback, _ in self._commands():
            score, offsets = matcher.fuzzy_search.match(matcher.query, title)
            if score > 0:
                shown = Content(title)
                for offset in offsets:
                    if not title[offset].isspace():
                        shown = shown.stylize(matcher.match_style, offset, offset + 1)
                yield Hit(score, shown, callback, text=title, help=_help(help_text))


def _help(content: Content) -> str:
    # Hit.help is typed `str`, but the palette passes it to Content.from_markup, which returns a
    # Content unchanged: handing it Content is what keeps the help text out of the markup parser.
    return cast(str, content)
