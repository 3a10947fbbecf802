"""Config value types that refuse, when the file is read, what would fail on the first call.

A URL without `http://` or `https://` and a host, a CA bundle that is not a file, an
empty secret: each would otherwise surface mid-run as a confusing transport or auth
error. Each message says what is expected; the value itself is never echoed (a URL may
carry a token).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, SecretStr
from pydantic_core import PydanticCustomError


def _url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https"):
        found = f"'{parts.scheme}://'" if parts.scheme and "://" in value else "none"
        raise ValueError(
            f"the URL must start with https:// (or http://), scheme found: {found}; "
            "write it as https://host/..."
        )
    if not parts.hostname:
        raise ValueError("the URL has no host; write it as https://host/...")
    return value.strip()


def _ca_bundle(value: str) -> str:
    if not Path(value).expanduser().is_file():
        raise ValueError(
            "no such file; point it at the CA certificate (PEM) to trust, "
            "or remove the key to use the system's CAs"
        )
    return value


def _secret(value: SecretStr) -> SecretStr:
    if not value.get_secret_value().strip():
        raise PydanticCustomError("empty_secret", "empty secret")
    return value


Url = Annotated[str, AfterValidator(_url)]
CaBundle = Annotated[str, AfterValidator(_ca_bundle)]
Secret = Annotated[SecretStr, AfterValidator(_secret)]
