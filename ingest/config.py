"""Where things live and which database is active.

One rule everywhere: `COEQWAL_DATABASE_URL` (an external server such as AWS RDS)
wins; without it the embedded cluster under `.coeqwal/` is used. Tests isolate
themselves by database name (`COEQWAL_DATABASE`), never by schema prefix, because
PostgREST needs the fixed schema `api`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

PROJECT_ROOT = Path(os.environ.get("COEQWAL_HOME", Path(__file__).resolve().parents[1]))
STATE_DIR = PROJECT_ROOT / ".coeqwal"
DEFAULT_DATABASE = "coeqwal"


class ConfigError(Exception):
    """A configuration problem the user must fix; the message is one line."""


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed libpq URL, as both dbt (fields) and dlt/psycopg2 (URL) need it."""

    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def parse(cls, url: str) -> DatabaseUrl:
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ConfigError(f"not a postgresql:// URL: {redact(url)}")
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            database=(parts.path or "/").lstrip("/") or DEFAULT_DATABASE,
        )

    def url(self) -> str:
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return urlunsplit(
            ("postgresql", f"{auth}@{self.host}:{self.port}", f"/{self.database}", "", "")
        )

    def with_database(self, database: str) -> DatabaseUrl:
        return DatabaseUrl(self.host, self.port, self.user, self.password, database)


def redact(url: str) -> str:
    """The URL with its password replaced, for messages and logs."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def external_url() -> str | None:
    """The configured external database URL, if any."""
    return os.environ.get("COEQWAL_DATABASE_URL") or None


def database_name() -> str:
    """The database this process works in (tests set COEQWAL_DATABASE=coeqwal_test)."""
    return os.environ.get("COEQWAL_DATABASE", DEFAULT_DATABASE)


def active_database() -> DatabaseUrl:
    """The database every command talks to: external if configured, else embedded.

    For the embedded cluster the server must be up (`coeqwal db up`); this only
    computes the URL and never starts anything.
    """
    ext = external_url()
    if ext:
        parsed = DatabaseUrl.parse(ext)
        if "COEQWAL_DATABASE" in os.environ:
            parsed = parsed.with_database(database_name())
        return parsed
    from coeqwal_tools import localdb

    return localdb.EmbeddedCluster().url(database_name())
