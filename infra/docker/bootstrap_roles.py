"""One-time (and idempotent) database bootstrap, run as the server's admin user.

Creates what dbt and PostgREST need before the first `coeqwal build`, and sets
the passwords of the login roles (so running it again rotates them):
- the warehouse database and the PostGIS extension in it (on RDS only the
  master user may create extensions);
- the owner role the pipeline runs dbt and the loader as (LOGIN CREATEROLE,
  owns the database; CREATEROLE lets dbt's hook tune `web_anon`);
- `web_anon` (NOLOGIN) and `authenticator` (LOGIN NOINHERIT, PostgREST's login).

The admin connection comes from the libpq variables (PGHOST, PGPORT, PGUSER,
PGPASSWORD, PGDATABASE); the rest from:
  COEQWAL_DB_NAME          database to create (default coeqwal)
  COEQWAL_OWNER_USER       owner role (default coeqwal_owner)
  COEQWAL_OWNER_PASSWORD   its password (required)
  AUTHENTICATOR_PASSWORD   PostgREST's password (required)
Used by docker-compose (service `bootstrap`) and by the ECS task definition
`<name>-bootstrap` (infra/terraform/modules/etl). Exit 0 or one line on stderr.
"""

from __future__ import annotations

import os
import sys

import psycopg2
from psycopg2 import sql


def _require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"bootstrap_roles: set {name}")
    return value


def _ensure_role(cur, name: str, options: sql.Composable, password: str | None) -> None:
    cur.execute("select 1 from pg_roles where rolname = %s", (name,))
    verb = "alter" if cur.fetchone() else "create"
    stmt = sql.SQL(verb + " role {} with ").format(sql.Identifier(name)) + options
    if password is not None:
        stmt += sql.SQL(" password {}").format(sql.Literal(password))
    cur.execute(stmt)


def bootstrap() -> None:
    database = os.environ.get("COEQWAL_DB_NAME", "coeqwal")
    owner = os.environ.get("COEQWAL_OWNER_USER", "coeqwal_owner")
    owner_password = _require("COEQWAL_OWNER_PASSWORD")
    authenticator_password = _require("AUTHENTICATOR_PASSWORD")

    admin = psycopg2.connect("", connect_timeout=10, application_name="coeqwal-bootstrap")
    admin.autocommit = True
    with admin.cursor() as cur:
        _ensure_role(cur, owner, sql.SQL("login createrole"), owner_password)
        _ensure_role(cur, "web_anon", sql.SQL("nologin"), None)
        _ensure_role(cur, "authenticator", sql.SQL("login noinherit"), authenticator_password)
        cur.execute("grant web_anon to authenticator")
        # On RDS the master user is not a superuser: it must be a member of the
        # owner role to create a database owned by it.
        cur.execute(sql.SQL("grant {} to current_user").format(sql.Identifier(owner)))
        cur.execute("select 1 from pg_database where datname = %s", (database,))
        if not cur.fetchone():
            cur.execute(
                sql.SQL("create database {} owner {}").format(
                    sql.Identifier(database), sql.Identifier(owner)
                )
            )
    admin.close()

    target = psycopg2.connect(
        "", dbname=database, connect_timeout=10, application_name="coeqwal-bootstrap"
    )
    target.autocommit = True
    with target.cursor() as cur:
        cur.execute("create extension if not exists postgis")
        cur.execute(
            sql.SQL("grant create on database {} to {}").format(
                sql.Identifier(database), sql.Identifier(owner)
            )
        )
    target.close()
    print(f"bootstrap_roles: database {database}, roles {owner}, authenticator, web_anon ready")


if __name__ == "__main__":
    try:
        bootstrap()
    except psycopg2.Error as exc:
        print(f"bootstrap_roles: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        sys.exit(1)
