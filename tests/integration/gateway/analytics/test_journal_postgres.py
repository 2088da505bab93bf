"""The alarm journal in a real PostgreSQL: its table in the gateway's schema, beside the history store's tables,
read-back with filters, and no event lost while the server restarts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gateway.analytics.journal import open_journal
from gateway.analytics.model import Transition
from gateway.history.model import StoreLocation
from gateway.history.pg_connect import with_gateway
from gateway.history.pg_schema import schema_for
from tests.integration.gateway.history.pg_cluster import (  # the history tests' PostgreSQL fixtures
    PgCluster,
    PgServer,
    drop_gateway,
    pg_own_cluster,
    pg_server,
    pg_store_factory,
)
from tests.unit.gateway.analytics.test_journal import event

__all__ = ["pg_own_cluster", "pg_server", "pg_store_factory"]
pytestmark = pytest.mark.integration


@pytest.fixture
def gateway_name(pg_server: PgServer) -> Iterator[str]:
    name = f"alarms_{uuid.uuid4().hex[:10]}"
    yield name
    drop_gateway(pg_server.url, name)


def test_events_go_to_alarm_events_in_the_gateway_schema_and_read_back(
    pg_server: PgServer, gateway_name: str, tmp_path: Path
) -> None:
    location = StoreLocation("postgresql", with_gateway(pg_server.url, gateway_name))
    journal = open_journal(location, tmp_path)
    journal.record(event(0))
    journal.record(event(3, Transition.ACKNOWLEDGED, actor="ops", comment="checked the burner"))
    journal.record(event(4, alarm_id="ahu1.sat/high"))
    journal.record(event(9, Transition.CLEARED))
    back = journal.read()
    assert [(e.alarm.id, e.transition) for e in back] == [
        ("boiler1.supply_temp/limit", Transition.ACTIVATED),
        ("boiler1.supply_temp/limit", Transition.ACKNOWLEDGED),
        ("ahu1.sat/high", Transition.ACTIVATED),
        ("boiler1.supply_temp/limit", Transition.CLEARED),
    ]
    assert back[1] == event(3, Transition.ACKNOWLEDGED, actor="ops", comment="checked the burner")
    assert [e.alarm.id for e in journal.read(alarm_ids=["ahu1.sat/high"])] == ["ahu1.sat/high"]
    assert len(journal.read(start=back[1].time, end=back[3].time)) == 2
    journal.close()
    with psycopg.connect(pg_server.url) as conn:
        (n,) = conn.execute(f"SELECT count(*) FROM {schema_for(gateway_name)}.alarm_events").fetchone()  # type: ignore[misc]
    assert n == 4 and not (tmp_path / "alarm-journal.sqlite").exists()


def test_beside_a_history_store_of_the_same_gateway(
    pg_store_factory: object, pg_server: PgServer, tmp_path: Path
) -> None:
    name = f"alarms_{uuid.uuid4().hex[:10]}"
    store = pg_store_factory(name)  # type: ignore[operator]
    store.flush()  # the history store registers its schema first
    journal = open_journal(store.location(), tmp_path)
    journal.record(event(0))
    assert [e.transition for e in journal.read()] == [Transition.ACTIVATED]
    journal.close()
    with psycopg.connect(pg_server.url) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema_for(name)]
        )}  # fmt: skip
    assert {"samples", "alarm_events"} <= tables


def test_events_recorded_while_the_server_is_down_are_written_after_it_returns(
    pg_own_cluster: PgCluster, tmp_path: Path
) -> None:
    location = StoreLocation("postgresql", with_gateway(pg_own_cluster.url, "restart"))
    journal = open_journal(location, tmp_path)
    journal.record(event(0))
    assert journal.flush()
    pg_own_cluster.kill()
    journal.record(event(1, Transition.ACKNOWLEDGED, actor="ops"))  # never blocks, never raises
    assert not journal.flush(timeout=1.0)  # held: the server is gone
    pg_own_cluster.start()
    assert journal.flush(timeout=60)
    assert [e.transition for e in journal.read()] == [Transition.ACTIVATED, Transition.ACKNOWLEDGED]
    journal.close()
