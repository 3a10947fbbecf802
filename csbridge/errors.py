"""The one error type users see: a one-line message that names what is wrong and how to fix it."""

import re

VENDOR_TEXT_MAX = 300  # characters of a vendor's own error message we repeat
_LINE_BREAKS = re.compile(r"\s*[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+\s*")


def one_line(text: str, limit: int | None = None) -> str:
    """`text` with each line break (and the spaces around it) made one space, then cut to
    `limit` characters ending in an ellipsis. Vendors' error bodies may span lines; a
    message the CLI prints or a log line carries must not."""
    flat = _LINE_BREAKS.sub(" ", text).strip()
    if limit is not None and len(flat) > limit:
        return flat[: limit - 1] + "…"
    return flat


class CsbridgeError(Exception):
    """A user-facing error. The CLI prints its message on one line and exits with code 2."""

    exit_code = 2

    def __init__(self, *args: object) -> None:
        """The message is kept on one line, whatever text (a vendor's) went into it."""
        super().__init__(*(one_line(a) if isinstance(a, str) else a for a in args))
