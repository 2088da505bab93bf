"""Fixtures of the history integration tests.

PostgreSQL (helper G): ``pg_server`` (the session's cluster, pg_cluster.py), ``pg_own_cluster`` (one a test may
kill), ``pg_store_factory`` (stores on fresh gateway schemas, dropped afterwards).
"""

from __future__ import annotations

from pg_cluster import pg_own_cluster, pg_server, pg_store_factory

__all__ = ["pg_own_cluster", "pg_server", "pg_store_factory"]
