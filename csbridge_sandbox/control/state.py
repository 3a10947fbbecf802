"""The state behind the sandbox control endpoints (control.py): per-emulator counters of
calls, writes and records written, and the armed faults, consumed as they fire."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route

from csbridge_sandbox.control.faults import Fault, parse_fault

WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}
READ_POSTS = ("/search", "/batch/read", "/oauth2/token", "/engage")
# path parameters naming a kind of thing, kept in route keys; any other becomes {id}
TYPE_PARAMS = {"object_type", "sobject", "from_type", "to_type", "version", "kind", "field"}
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


class Quota(Protocol):
    """A daily API quota the `api_usage` fault can set and give back."""

    used: int

    def override(self, used: int, limit: int) -> None: ...

    def restore(self) -> None: ...


def _unknown_object(name: str) -> str | None:
    return None


def _none_written() -> int:
    return 0


def _same(value: str) -> str:
    return value


@dataclass
class Hooks:
    """What a vendor tells the control layer: its error response for a status fault, the
    record types and ids `reject_record` may name, its count of records written, an alias
    for request paths (HubSpot's dated paths), and its quota (Salesforce)."""

    error: Callable[[Fault, str], Response]
    canonical_object: Callable[[str], str | None] = _unknown_object
    canonical_id: Callable[[str], str] = _same
    records_written: Callable[[], int] = _none_written
    route_path: Callable[[str], str] = _same
    quota: Quota | None = None


class Control:
    """Counters and armed faults of one emulator (thread-safe)."""

    def __init__(self, hooks: Hooks, routes: Sequence[BaseRoute]) -> None:
        self.hooks = hooks
        self.routes = routes
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._calls = self._writes = 0
        self._by_route: Counter[str] = Counter()
        self._by_status: Counter[str] = Counter()
        self._baseline = hooks.records_written()

    # ---- stats ---------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Calls, writes and records written since start or the last reset."""
        with self._lock:
            return {
                "calls": self._calls,
                "writes": self._writes,
                "records_written": self.hooks.records_written() - self._baseline,
                "by_route": dict(sorted(self._by_route.items())),
                "by_status": dict(sorted(self._by_status.items())),
            }

    def reset_stats(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._calls = self._writes = 0
            self._by_route.clear()
            self._by_status.clear()
            self._baseline = self.hooks.records_written()

    def route_key(self, method: str, path: str) -> str:
        """`"<METHOD> <template>"` for a request (the first route that matches it)."""
        scope = {"type": "http", "method": method, "path": self.hooks.route_path(path)}
        partial: BaseRoute | None = None
        params: dict[str, Any] = {}
        for route in self.routes:
            match, child = route.matches(scope)
            if match is Match.FULL or (match is Match.PARTIAL and partial is None):
                partial, params = route, child.get("path_params", {})
                if match is Match.FULL:
                    break
        if not isinstance(partial, Route):
            return f"{method} <unmatched>"
        return f"{method} " + _PARAM.sub(
            lambda m: str(params[m[1]]) if m[1] in TYPE_PARAMS else "{id}", partial.path
        )

    def count_call(self, method: str, path: str) -> None:
        """Count one served API call."""
        key = self.route_key(method, path)
        write = method in WRITE_METHODS and not key.endswith(READ_POSTS)
        with self._lock:
            self._calls += 1
            self._writes += write
            self._by_route[key] += 1

    def count_status(self, status: int) -> None:
        """Count the status an API call was answered with."""
        with self._lock:
            self._by_status[str(status)] += 1

    # ---- faults --------------------------------------------------------------------------
    def arm(self, spec: Any = None, **fields: Any) -> dict[str, Any]:
        """Arm one fault from a spec dict or keywords; returns it as listed. Raises
        FaultError (a ValueError) naming the bad field."""
        return self.arm_all([{**(spec or {}), **fields}])[0]

    def arm_all(self, specs: list[Any]) -> list[dict[str, Any]]:
        """Arm every spec, or none of them when one is bad (FaultError)."""
        with self._lock:
            faults = [
                parse_fault(s, self.hooks.canonical_object, self.hooks.quota is not None)
                for s in specs
            ]
            for fault in faults:
                if fault.kind == "reject_record":
                    fault.record_id = self.hooks.canonical_id(fault.record_id)
                if fault.kind == "api_usage":
                    assert self.hooks.quota is not None
                    self.hooks.quota.override(fault.used, fault.max)
                    self._faults = [f for f in self._faults if f.kind != "api_usage"]
                self._faults.append(fault)
            return [f.to_json() for f in faults]

    def armed(self) -> list[dict[str, Any]]:
        """The armed faults, with what is left of each."""
        with self._lock:
            for fault in self._faults:
                if fault.kind == "api_usage" and self.hooks.quota is not None:
                    fault.used = self.hooks.quota.used
            return [f.to_json() for f in self._faults]

    def clear(self) -> None:
        """Disarm every fault; the quota goes back to what the app started with."""
        with self._lock:
            if self.hooks.quota is not None and any(f.kind == "api_usage" for f in self._faults):
                self.hooks.quota.restore()
            self._faults.clear()

    def _take(self, wanted: Callable[[Fault], bool]) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if wanted(fault):
                    if fault.count > 0:
                        fault.count -= 1
                        if fault.count == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def take_request_fault(self, method: str, path: str) -> Fault | None:
        """The status or timeout fault this request fires, if any (consumed)."""
        return self._take(
            lambda f: f.kind in {"status", "timeout_after_commit"} and f.matches(method, path)
        )

    def take_rejection(self, obj: str, record_id: str) -> str | None:
        """The message a write to this record is rejected with, if one is armed (consumed)."""
        fault = self._take(
            lambda f: f.kind == "reject_record" and f.obj == obj and f.record_id == record_id
        )
        return fault.message if fault else None
