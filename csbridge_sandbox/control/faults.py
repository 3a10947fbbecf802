"""The faults a test can arm on an emulator (see `control.py`): what each one is, how a
JSON spec becomes one (refusing a bad spec with a message naming the field), and which
requests it matches.

Kinds: `status` (the next N matching requests get a vendor error, nothing committed),
`timeout_after_commit` (the request is served and committed, the answer held back
`delay` seconds), `reject_record` (writes to one record fail per record, as a validation
rule would make them), `api_usage` (Salesforce's daily quota counter set to used/max).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

KINDS = ("status", "timeout_after_commit", "reject_record", "api_usage")
STATUSES = (401, 403, 429, 500, 502, 503, 504)
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
DEFAULT_DELAY = 5.0
MAX_DELAY = 600.0
UNLIMITED = -1
REJECT_MESSAGE = "csbridge sandbox: this record is rejected by a validation rule"


class FaultError(ValueError):
    """A fault spec the emulator cannot arm; the message names the field and the fix."""


@dataclass
class Fault:
    """One armed fault; `count` is how many more times it fires (-1: until disarmed)."""

    kind: str
    count: int
    method: str | None = None  # None: any method
    prefix: str = "/"
    status: int = 0
    delay: float = DEFAULT_DELAY
    retry_after: int | None = None
    obj: str = ""
    record_id: str = ""
    message: str = ""
    used: int = 0
    max: int = 0

    def matches(self, method: str, path: str) -> bool:
        """True when a request with this method and path is one this fault aims at."""
        return (self.method is None or self.method == method) and path.startswith(self.prefix)

    def to_json(self) -> dict[str, Any]:
        """The armed fault as `GET /_sandbox/faults` shows it."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind in {"status", "timeout_after_commit"}:
            out["match"] = f"{self.method or '*'} {self.prefix}"
        if self.kind == "status":
            out["status"] = self.status
            if self.retry_after is not None:
                out["retry_after"] = self.retry_after
        if self.kind == "timeout_after_commit":
            out["delay"] = self.delay
        if self.kind == "reject_record":
            out.update(object=self.obj, id=self.record_id, message=self.message)
        if self.kind == "api_usage":
            out.update(used=self.used, max=self.max)
        else:
            out["count"] = self.count
        return out


def _int(spec: Mapping[str, Any], name: str, default: int | None = None) -> int:
    value = spec.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise FaultError(f"{name}: expected an integer, got {value!r}")
    return value


def _count(spec: Mapping[str, Any], default: int) -> int:
    count = _int(spec, "count", default)
    if count == 0 or count < UNLIMITED:
        raise FaultError(f"count: expected a positive integer or -1 (until cleared), got {count}")
    return count


def _match(spec: Mapping[str, Any]) -> tuple[str | None, str]:
    raw = spec.get("match", "*")
    if not isinstance(raw, str):
        raise FaultError(f"match: expected '<METHOD> <path-prefix>', got {raw!r}")
    parts = raw.split()
    if len(parts) == 1 and parts[0].startswith("/"):
        parts = ["*", parts[0]]
    if len(parts) == 1:
        parts.append("/")
    method, prefix = parts[0].upper(), parts[1] if len(parts) == 2 else ""
    if method not in (*METHODS, "*") or not prefix.startswith("/"):
        raise FaultError(
            f"match: expected '<METHOD> <path-prefix>' such as 'POST /crm/v3/objects', got {raw!r}"
        )
    return (None if method == "*" else method), prefix


def parse_fault(
    spec: Any,
    canonical_object: Callable[[str], str | None],
    has_quota: bool,
) -> Fault:
    """A Fault from its JSON spec; `canonical_object` names a record type the emulator
    knows (None when it does not), `has_quota` says whether `api_usage` applies."""
    if not isinstance(spec, Mapping):
        raise FaultError(f"a fault is a JSON object with a 'kind', got {type(spec).__name__}")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise FaultError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "status":
        status = _int(spec, "status")
        if status not in STATUSES:
            raise FaultError(f"status: expected one of {STATUSES}, got {status}")
        retry_after = spec.get("retry_after")
        if retry_after is not None:
            retry_after = _int(spec, "retry_after")
        method, prefix = _match(spec)
        return Fault(kind, _count(spec, 1), method, prefix, status, retry_after=retry_after)
    if kind == "timeout_after_commit":
        delay = spec.get("delay", DEFAULT_DELAY)
        if isinstance(delay, bool) or not isinstance(delay, int | float):
            raise FaultError(f"delay: expected seconds as a number, got {delay!r}")
        if not 0 <= delay <= MAX_DELAY:
            raise FaultError(f"delay: expected 0 to {MAX_DELAY:.0f} seconds, got {delay}")
        method, prefix = _match(spec)
        return Fault(kind, _count(spec, 1), method, prefix, delay=float(delay))
    if kind == "reject_record":
        obj, record_id = spec.get("object"), spec.get("id")
        canonical = canonical_object(obj) if isinstance(obj, str) else None
        if canonical is None:
            raise FaultError(f"object: not a record type this emulator writes: {obj!r}")
        if not isinstance(record_id, str | int) or isinstance(record_id, bool) or not record_id:
            raise FaultError(f"id: expected the record's id, got {record_id!r}")
        message = spec.get("message", REJECT_MESSAGE)
        if not isinstance(message, str) or not message:
            raise FaultError(f"message: expected a non-empty string, got {message!r}")
        return Fault(
            kind,
            _count(spec, UNLIMITED),
            obj=canonical,
            record_id=str(record_id),
            message=message,
        )
    if not has_quota:
        raise FaultError("kind: api_usage applies to the Salesforce emulator only")
    used, limit = _int(spec, "used"), _int(spec, "max")
    if used < 0 or limit < 1:
        raise FaultError(f"used/max: expected used >= 0 and max >= 1, got {used}/{limit}")
    return Fault(kind, UNLIMITED, used=used, max=limit)
