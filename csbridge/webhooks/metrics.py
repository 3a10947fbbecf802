"""Prometheus text exposition, rendered by hand (three counters and one histogram).

Kept dependency-free: the format is a few lines per series. Counters live in the
process; inbox rows per status come from the database at scrape time, so they are
right whichever process (serve or a separate worker) moved them.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import defaultdict

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _escape(value: str) -> str:
    """A label value as the text format wants it: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}"


class Metrics:
    """Thread-safe counters and the acknowledgement-latency histogram."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
        self._help: dict[str, str] = {
            "csbridge_webhook_requests_total": "Webhook requests by source and outcome.",
            "csbridge_webhook_events_total": "Events stored (new) or deduplicated.",
            "csbridge_webhook_rows_finished_total": "Inbox rows finished by this process.",
        }
        self._buckets = [0] * (len(BUCKETS) + 1)
        self._sum = 0.0
        self._count = 0

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add `amount` to the counter `name` with `labels`."""
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._counters[name]
            series[key] = series.get(key, 0.0) + amount

    def value(self, name: str, **labels: str) -> float:
        """A counter's current value (0 if never incremented)."""
        with self._lock:
            return self._counters[name].get(tuple(sorted(labels.items())), 0.0)

    def observe_ack(self, seconds: float) -> None:
        """Record the time from request start to acknowledged (committed) response."""
        with self._lock:
            self._buckets[bisect_left(BUCKETS, seconds)] += 1
            self._sum += seconds
            self._count += 1

    def render(self, inbox_counts: dict[str, int] | None = None) -> str:
        """The text format (version 0.0.4)."""
        lines: list[str] = []
        with self._lock:
            for name, series in sorted(self._counters.items()):
                lines.append(f"# HELP {name} {self._help.get(name, name)}")
                lines.append(f"# TYPE {name} counter")
                for key, value in sorted(series.items()):
                    lines.append(f"{name}{_labels(key)} {value:g}")
            name = "csbridge_webhook_ack_seconds"
            lines.append(f"# HELP {name} Time to acknowledge a webhook after its commit.")
            lines.append(f"# TYPE {name} histogram")
            running = 0
            for bound, count in zip((*BUCKETS, float("inf")), self._buckets, strict=True):
                running += count
                le = "+Inf" if bound == float("inf") else f"{bound:g}"
                lines.append(f'{name}_bucket{{le="{le}"}} {running}')
            lines.append(f"{name}_sum {self._sum:.6f}")
            lines.append(f"{name}_count {self._count}")
        if inbox_counts is not None:
            name = "csbridge_webhook_inbox_rows"
            lines.append(f"# HELP {name} Inbox rows by status (from the database).")
            lines.append(f"# TYPE {name} gauge")
            for status, count in sorted(inbox_counts.items()):
                lines.append(f'{name}{{status="{status}"}} {count}')
        return "\n".join(lines) + "\n"
