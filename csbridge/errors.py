"""The one error type users see: a one-line message that names what is wrong and how to fix it."""


class CsbridgeError(Exception):
    """A user-facing error. The CLI prints its message on one line and exits with code 2."""

    exit_code = 2
