"""The PostgreSQL historian's schema: one schema per gateway, time-partitioned tables, TimescaleDB when present.

Layout (docs/history.md, "PostgreSQL"):
- ``twinbridge_history.gateways``: which gateway owns which schema (many gateways share one database).
- ``<schema>.points``: point name -> small integer id (rows carry the id, not the name), and from when on its
  raw rows are complete (``raw_from_us``: retention deleted what was before).
- ``<schema>.samples``: one row per recorded sample, range-partitioned by ``source_us`` (µs since the epoch);
  with the ``timescaledb`` extension it is a hypertable on the same column instead. Either way the queries are
  the same; retention drops whole partitions (chunks) and deletes only inside the newest expired one.
- ``<schema>.rollups``: per-interval statistics of each roll-up level, partitioned the same way in wider
  partitions, and ``<schema>.rollup_state``: how far each point's roll-ups are computed (pg_rollups.py).
- ``<schema>.batches``: ids of committed write batches, so a batch whose COMMIT reply was lost is not written twice.

Why a schema per gateway rather than a gateway column: each gateway's retention drops its own partitions
(a shared partition could only be emptied row by row), gateways never contend for one table's locks, and
dropping a gateway's history is ``DROP SCHEMA``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import psycopg
from psycopg import sql

REGISTRY = "twinbridge_history"
SCHEMA_VERSION = 1
DAY_US = 86_400_000_000
ROLLUP_PARTITION_FACTOR = 32
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_SLUG = re.compile(r"[^a-z0-9_]")
_PART = re.compile(r"^(?P<table>[a-z0-9_]+)_p(?P<sign>[mp])(?P<lo>\d+)$")


def schema_for(gateway: str) -> str:
    """The schema holding a gateway's history: ``tbh_<id>``, plus a hash when the id is not a plain name."""
    slug = _SLUG.sub("_", gateway.lower())[:40]
    if slug != gateway:
        slug += "_" + hashlib.sha1(gateway.encode()).hexdigest()[:8]
    return f"tbh_{slug}"


@dataclass(frozen=True, slots=True)
class Layout:
    """Where a gateway's tables are and how they are partitioned."""

    schema: str
    partition_us: int  # width of one partition (chunk) of ``samples``
    timescale: bool  # hypertables instead of declarative partitions

    @property
    def rollup_partition_us(self) -> int:
        """Width of one partition of ``rollups`` (its rows are at least 60 times fewer than raw rows)."""
        return self.partition_us * ROLLUP_PARTITION_FACTOR

    def table(self, name: str) -> sql.Composable:
        """A qualified table name."""
        return sql.Identifier(self.schema, name)


def partition_name(table: str, lo: int) -> str:
    """The partition of ``table`` starting at ``lo`` (``samples_pp1700000000000000``; ``m`` for negative)."""
    return f"{table}_p{'m' if lo < 0 else 'p'}{abs(lo)}"


def bootstrap(conn: psycopg.Connection, gateway: str, partition_us: int = DAY_US) -> Layout:
    """Create (or find) the gateway's schema and tables; concurrent callers are serialized by a lock."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [REGISTRY])
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(REGISTRY)))
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, schema_name text NOT NULL UNIQUE,"
                " partition_us bigint NOT NULL, layout text NOT NULL, version int NOT NULL,"
                " created timestamptz NOT NULL DEFAULT now())"
            ).format(sql.Identifier(REGISTRY, "gateways"))
        )
        found = conn.execute(
            sql.SQL("SELECT schema_name, partition_us, layout FROM {} WHERE name = %s").format(
                sql.Identifier(REGISTRY, "gateways")
            ),
            [gateway],
        ).fetchone()
        if found:
            return Layout(found[0], found[1], found[2] == "timescaledb")
        timescale = has_timescale(conn)
        layout = Layout(schema_for(gateway), partition_us, timescale)
        _create_tables(conn, layout)
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (name, schema_name, partition_us, layout, version) VALUES (%s, %s, %s, %s, %s)"
            ).format(sql.Identifier(REGISTRY, "gateways")),
            [gateway, layout.schema, partition_us, "timescaledb" if timescale else "partitioned", SCHEMA_VERSION],
        )
        return layout


def find_layout(conn: psycopg.Connection, gateway: str) -> Layout | None:
    """The gateway's layout when its schema exists (readers never create it)."""
    exists = conn.execute("SELECT to_regclass(%s)", [f"{REGISTRY}.gateways"]).fetchone()
    if not exists or exists[0] is None:
        return None
    found = conn.execute(
        sql.SQL("SELECT schema_name, partition_us, layout FROM {} WHERE name = %s").format(
            sql.Identifier(REGISTRY, "gateways")
        ),
        [gateway],
    ).fetchone()
    return Layout(found[0], found[1], found[2] == "timescaledb") if found else None


def has_timescale(conn: psycopg.Connection) -> bool:
    """Whether the database has the timescaledb extension installed (CREATE EXTENSION is the DBA's call)."""
    return conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone() is not None


def samples_ddl(layout: Layout) -> list[sql.Composed]:
    """The statements creating ``points``, ``samples`` and ``batches`` (columns ordered to avoid padding)."""
    partitioned = sql.SQL("") if layout.timescale else sql.SQL(" PARTITION BY RANGE ({})")
    stmts: list[sql.Composed] = [
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(layout.schema)),
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " name text NOT NULL UNIQUE, raw_from_us bigint)"
        ).format(layout.table("points")),
        # value: exactly one of v_float/v_int/v_bool/v_text set, or none (a sample without a value);
        # integers beyond int64 are v_text with v_float holding their numeric value (pg_values.py).
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (source_us bigint NOT NULL, server_us bigint NOT NULL,"
            " v_float double precision, v_int bigint, point_id integer NOT NULL, status integer NOT NULL,"
            " v_bool boolean, v_text text){}"
        ).format(layout.table("samples"), partitioned.format(sql.Identifier("source_us"))),
        sql.SQL("CREATE INDEX IF NOT EXISTS samples_point_time ON {} (point_id, source_us)").format(
            layout.table("samples")
        ),
        sql.SQL("CREATE TABLE IF NOT EXISTS {} (id uuid PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())").format(
            layout.table("batches")
        ),
        *rollups_ddl(layout, partitioned),
    ]
    if layout.timescale:
        stmts.append(hypertable_sql(layout, "samples", layout.partition_us))
        stmts.append(hypertable_sql(layout, "rollups", layout.rollup_partition_us))
    return stmts


def rollups_ddl(layout: Layout, partitioned: sql.SQL) -> list[sql.Composed]:
    """Roll-up rows (the statistics of gateway/history/rollups.py, one row per point, level and interval) and
    each point's progress per level: intervals before ``done_us`` are computed (a late row lowers it)."""
    return [
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (start_us bigint NOT NULL, interval_us bigint NOT NULL,"
            " first_t bigint NOT NULL, last_t bigint NOT NULL, sum double precision NOT NULL,"
            " min double precision, max double precision, first_v double precision, last_v double precision,"
            " point_id integer NOT NULL, n_all integer NOT NULL, n_good integer NOT NULL,"
            " first_s integer NOT NULL, last_s integer NOT NULL, first_k smallint NOT NULL, last_k smallint NOT NULL){}"
        ).format(layout.table("rollups"), partitioned.format(sql.Identifier("start_us"))),
        sql.SQL("CREATE UNIQUE INDEX IF NOT EXISTS rollups_key ON {} (point_id, interval_us, start_us)").format(
            layout.table("rollups")
        ),
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (point_id integer NOT NULL, interval_us bigint NOT NULL,"
            " done_us bigint NOT NULL, PRIMARY KEY (point_id, interval_us))"
        ).format(layout.table("rollup_state")),
    ]


def hypertable_sql(layout: Layout, table: str, chunk_us: int) -> sql.Composed:
    """Turn a plain table into a hypertable on ``source_us``/``start_us`` (TimescaleDB 2.x, integer time)."""
    column = "source_us" if table == "samples" else "start_us"
    return sql.SQL(
        "SELECT create_hypertable({}, {}, chunk_time_interval => {}, if_not_exists => true,"
        " create_default_indexes => false)"
    ).format(sql.Literal(f"{layout.schema}.{table}"), sql.Literal(column), sql.Literal(chunk_us))


def _create_tables(conn: psycopg.Connection, layout: Layout) -> None:
    for stmt in samples_ddl(layout):
        conn.execute(stmt)


def existing_partitions(conn: psycopg.Connection, layout: Layout, table: str = "samples") -> set[int]:
    """Start times of the partitions ``table`` has (empty on TimescaleDB, which makes its chunks itself)."""
    if layout.timescale:
        return set()
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace"
        " WHERE n.nspname = %s AND p.relname = %s",
        [layout.schema, table],
    ).fetchall()
    starts = set()
    for (name,) in rows:
        match = _PART.match(name)
        if match and match["table"] == table:
            starts.add(int(match["lo"]) * (-1 if match["sign"] == "m" else 1))
    return starts


def create_partitions(conn: psycopg.Connection, layout: Layout, table: str, width_us: int, starts: set[int]) -> None:
    """Create the partitions of ``table`` starting at ``starts`` (each ``width_us`` wide), in their own transaction.

    Run before the COPY that needs them, apart from it: attaching a partition locks the parent briefly, and a
    long COPY transaction holding that lock would stall readers.
    """
    if layout.timescale or not starts:
        return
    with conn.transaction():
        for lo in sorted(starts):
            # the first and last partitions of the bigint range end at its limits
            low = sql.Literal(lo) if lo >= _I64_MIN else sql.SQL("MINVALUE")
            high = sql.Literal(lo + width_us) if lo + width_us <= _I64_MAX else sql.SQL("MAXVALUE")
            conn.execute(
                sql.SQL("CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
                    layout.table(partition_name(table, lo)), layout.table(table), low, high
                )
            )


def drop_partitions_before(
    conn: psycopg.Connection, layout: Layout, table: str, width_us: int, cutoff_us: int
) -> list[int]:
    """Drop the partitions (chunks) of ``table`` that end at or before ``cutoff_us``; their start times."""
    if layout.timescale:
        conn.execute(
            sql.SQL("SELECT drop_chunks({}, older_than => {})").format(
                sql.Literal(f"{layout.schema}.{table}"), sql.Literal(cutoff_us)
            )
        )
        return []
    dropped = [lo for lo in sorted(existing_partitions(conn, layout, table)) if lo + width_us <= cutoff_us]
    for lo in dropped:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(layout.table(partition_name(table, lo))))
    return dropped


def partition_start(t_us: int, width_us: int) -> int:
    """The start of the partition holding ``t_us`` (floor division: negative times included)."""
    return (t_us // width_us) * width_us
