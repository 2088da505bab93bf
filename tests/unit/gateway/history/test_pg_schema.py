"""The PostgreSQL history schema's names and statements, plain and TimescaleDB; no database needed."""

from __future__ import annotations

from gateway.history.pg_schema import DAY_US, Layout, partition_name, partition_start, samples_ddl, schema_for


def test_schema_names_stay_apart_and_within_postgresql_limits() -> None:
    assert schema_for("plant_1") == "tbh_plant_1"
    assert schema_for("plant-1") != schema_for("plant_1") != schema_for("Plant_1")
    assert len(schema_for("x" * 300)) <= 63
    assert partition_name("samples", -DAY_US) == f"samples_pm{DAY_US}"
    assert partition_start(-1, DAY_US) == -DAY_US and partition_start(DAY_US, DAY_US) == DAY_US


def test_on_timescaledb_the_same_tables_become_hypertables() -> None:
    plain = [s.as_string(None) for s in samples_ddl(Layout("tbh_g", DAY_US, timescale=False))]
    hyper = [s.as_string(None) for s in samples_ddl(Layout("tbh_g", DAY_US, timescale=True))]
    assert sum("PARTITION BY RANGE" in s for s in plain) == 2 and not any("create_hypertable" in s for s in plain)
    assert not any("PARTITION BY" in s for s in hyper)
    calls = [s for s in hyper if "create_hypertable" in s]
    assert len(calls) == 2
    assert "'tbh_g.samples', 'source_us', chunk_time_interval => 86400000000" in calls[0]
    assert "'tbh_g.rollups', 'start_us'" in calls[1]
    # apart from partitioning, the columns and indexes are the same: queries run unchanged on both
    strip = [
        s.replace(' PARTITION BY RANGE ("source_us")', "").replace(' PARTITION BY RANGE ("start_us")', "")
        for s in plain
    ]
    assert strip == [s for s in hyper if "create_hypertable" not in s]
