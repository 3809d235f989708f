"""PostgreSQL helpers shared by benchmarks: refuse anything but a *_bench database, recreate it, raw connections."""
from __future__ import annotations

from contextlib import contextmanager

import psycopg2
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections

from . import Unavailable


def database_settings() -> dict:
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        raise Unavailable(
            f"needs PostgreSQL, but DATABASE_URL selects {db['ENGINE']}: "
            f"set DATABASE_URL=postgres://postgres@127.0.0.1:5432/ce_seed_bench")
    if not str(db["NAME"]).endswith("_bench"):
        raise Unavailable(
            f"the benchmark drops and recreates its database, so its name must end in _bench; "
            f"DATABASE_URL names {db['NAME']!r} (use e.g. postgres://postgres@127.0.0.1:5432/ce_seed_bench)")
    return db


def raw_connection(dbname: str | None = None):
    """A plain psycopg2 connection with the credentials of DATABASE_URL (to `dbname`, default its database)."""
    db = database_settings()
    kwargs = {"dbname": dbname or db["NAME"], "user": db.get("USER") or None, "password": db.get("PASSWORD") or None,
              "host": db.get("HOST") or None, "port": db.get("PORT") or None}
    try:
        return psycopg2.connect(**{k: v for k, v in kwargs.items() if v is not None}, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        where = f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}"
        raise Unavailable(f"PostgreSQL at {where} does not answer ({str(exc).strip()})") from exc


def fresh_database(*, fixtures: tuple[str, ...] = ("kaifeng_2016",)) -> str:
    """Drop and recreate the bench database, migrate it and load `fixtures`. Returns its name."""
    name = database_settings()["NAME"]
    connections.close_all()
    admin = raw_connection("postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
    call_command("migrate", verbosity=0, interactive=False)
    for fixture in fixtures:
        call_command("loaddata", fixture, verbosity=0)
    connection.close()
    return name


@contextmanager
def use_database(name: str):
    """Point the default connection at another *_bench database for the duration of a benchmark, so a costly
    dataset (the ledger's ten million entries) survives the benchmarks that recreate the default one."""
    if not name.endswith("_bench"):
        raise Unavailable(f"refusing to use {name!r}: benchmark databases end in _bench")
    db = database_settings()
    original = db["NAME"]
    connections.close_all()
    db["NAME"] = name
    try:
        yield name
    finally:
        connections.close_all()
        db["NAME"] = original


def database_exists(name: str) -> bool:
    admin = raw_connection("postgres")
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            return cur.fetchone() is not None
    finally:
        admin.close()
