"""A bounded reader loop for availability tests: requests in PostgREST's shape,
as `web_anon`, one after another every `interval` seconds, while something
happens to the warehouse (a build, a failed build, a kill). Every answer is
recorded with its latency and a digest of its body, so a test can count the
failed requests and compare each answer with the one before the event."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field

import psycopg2

# The resources a client reads all day: (name, resource, query string).
DEFAULT_REQUESTS = [
    ("scenarios", "scenarios", "order=scenario_id"),
    (
        "statistics",
        "statistics",
        "scenario_id=eq.s0020&variable_key=eq.S_SHSTA/STORAGE&period=eq.all",
    ),
    (
        "timeseries",
        "timeseries",
        "scenario_id=eq.s0029&variable_key=eq.S_SHSTA/STORAGE&order=month_date&limit=24",
    ),
    ("tiers", "tiers", "order=scenario_id,indicator_code"),
    (
        # ordered: without order= PostgREST returns rows in whatever order the plan
        # gives, which may differ between two identical builds
        "annual_values",
        "annual_values",
        "scenario_id=eq.s0044&variable_key=eq.C_KSWCK/CHANNEL&order=water_year",
    ),
]


@dataclass
class Answer:
    at: float
    name: str
    seconds: float
    error: str | None = None
    digest: str | None = None
    rows: int = 0


@dataclass
class ReaderLoop:
    """Run `requests` round-robin in a thread until `stop()`, at most `max_seconds`."""

    url: str
    requests: list[tuple[str, str, str]] = field(default_factory=lambda: list(DEFAULT_REQUESTS))
    interval: float = 0.05
    max_seconds: float = 1800.0
    answers: list[Answer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="api-reader", daemon=True)

    def _client(self):
        from tests.python.test_api import Pgrst

        return Pgrst(self.url)

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        client = None
        i = 0
        while not self._stop.is_set() and time.monotonic() < deadline:
            name, resource, query = self.requests[i % len(self.requests)]
            i += 1
            started = time.monotonic()
            try:
                if client is None:
                    client = self._client()
                body = client.get(resource, query)
                text = json.dumps(body, sort_keys=True)
                self.answers.append(
                    Answer(
                        started,
                        name,
                        time.monotonic() - started,
                        digest=hashlib.sha256(text.encode()).hexdigest(),
                        rows=len(body) if isinstance(body, list) else 1,
                    )
                )
            except psycopg2.Error as exc:
                first = next((ln for ln in str(exc).splitlines() if ln.strip()), repr(exc))
                self.answers.append(Answer(started, name, time.monotonic() - started, first))
                if client is not None and client.conn.closed:
                    client = None
            self._stop.wait(self.interval)
        if client is not None:
            client.close()

    def start(self) -> ReaderLoop:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def baseline(self) -> dict[str, str]:
        """The digest of each request's answer, asked once now (before an event)."""
        client = self._client()
        try:
            out = {}
            for name, resource, query in self.requests:
                body = client.get(resource, query)
                out[name] = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            return out
        finally:
            client.close()

    def failures(self) -> list[Answer]:
        return [a for a in self.answers if a.error]

    def changed(self, expected: dict[str, str]) -> list[Answer]:
        """Answers that differ from `expected` (empty or partial answers among them)."""
        return [a for a in self.answers if not a.error and a.digest != expected[a.name]]

    def summary(self) -> str:
        errors = self.failures()
        worst = max((a.seconds for a in self.answers), default=0.0)
        kinds = sorted({a.error for a in errors})[:3]
        return (
            f"{len(self.answers)} requests, {len(errors)} failed, max latency {worst * 1000:.0f} ms"
            + (f"; e.g. {kinds}" if kinds else "")
        )
