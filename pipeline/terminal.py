"""What reaches the terminal: text from users and files is shown, never obeyed.

File names, headers, values, ids and error messages come from people and files the pipeline
does not control. Printed through Rich with markup on, `[/red]` in a header raised a
`MarkupError` (a traceback, sometimes after the outputs were committed) and `Cases [final].csv`
lost its brackets; printed raw, an ESC sequence in a file name cleared the screen or rewrote
lines. Every string the CLI prints therefore passes one choke point, `SafeConsole.render_str`
(markup and emoji codes off, control characters shown as escapes), and every log record one
formatter, `SafeFormatter`. Styled words (`error:` in red) are built as `Text`, not markup.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rich.console import Console
from rich.text import Text

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 control characters (ESC starts every terminal escape sequence; CR overwrites a
line; BEL rings), DEL, and the bidirectional overrides that reorder what is shown. Newline and
tab are kept where text may span lines (`lines=True`)."""
LINE_BREAKS = re.compile(r"[\t\n]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object, lines: bool = True) -> str:
    """`text` with every control character shown as an escape (ESC as `\\x1b`), so it is
    displayed literally; undecodable bytes of a file name (surrogates) become U+FFFD instead of
    failing to encode. With `lines=False` newlines and tabs are escaped too (one value, one
    line: a name cannot forge a line of output)."""
    value = str(text).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    value = CONTROL.sub(_escape, value)
    return value if lines else LINE_BREAKS.sub(_escape, value)


class SafeConsole(Console):
    """A Rich console for which every string is plain text: no markup, no emoji codes, no
    control characters. Rich turns every `str` it prints (messages, table cells, titles,
    status lines) into text through `render_str`, so this is the one place to guard."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        """Plain, visible text whatever the caller asked for (markup is never parsed)."""
        kwargs.update(markup=False, emoji=False)
        return super().render_str(visible(text), **kwargs)


def styled(label: str, message: object = "", style: str = "red") -> Text:
    """`label` in `style` followed by `message` as plain visible text: 'error: ...'."""
    text = Text(label, style=style)
    if message != "":
        text.append(" " + visible(message))
    return text


def cell(value: object) -> Text:
    """A table cell from user data: plain, visible, on one line (None is an empty cell)."""
    return Text("" if value is None else visible(value, lines=False))


class SafeFormatter(logging.Formatter):
    """Log lines with user text shown literally: each argument on one line (a file name cannot
    forge a log line), then every control character of the whole line escaped."""

    def format(self, record: logging.LogRecord) -> str:
        """The formatted record, its arguments and text made visible."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                visible(a, lines=False) if isinstance(a, str) else a for a in record.args
            )
        return visible(super().format(record))
