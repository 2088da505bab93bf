"""A fault that carries no value keeps the last value with its own source time; the fault's time is apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.contract.sample import Quality, Sample
from gateway.twin.twin import Twin
from tests.conftest import make_model, make_point

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TB = "https://w3id.org/twinbridge#"


def _live(twin: Twin, prop: str) -> str | None:
    rows = list(twin.query_sync(f"SELECT ?o WHERE {{ <http://test.local/point/a.p> <{TB}{prop}> ?o }}"))
    return rows[0]["o"].value if rows else None


def test_bad_sample_keeps_the_values_source_time() -> None:
    twin = Twin(make_model([make_point()]))
    twin.apply(Sample("a.p", 21.5, T0))
    fault_at = T0 + timedelta(minutes=5)
    twin.apply(Sample.bad("a.p", "BadCommunicationError", "cable pulled", source_ts=fault_at))
    st = twin.state("a.p")
    assert (st.value, st.quality, st.status) == (21.5, Quality.BAD, "BadCommunicationError")
    assert st.source_ts == T0 and st.quality_ts == fault_at
    assert _live(twin, "sourceTime") == "2026-01-01T00:00:00Z"
    assert _live(twin, "qualityChangedAt") == "2026-01-01T00:05:00Z"
    # the same fault reported again (each reconnect attempt) does not move when it began
    twin.apply(Sample.bad("a.p", "BadCommunicationError", "cable pulled", source_ts=fault_at + timedelta(seconds=9)))
    assert twin.state("a.p").quality_ts == fault_at
    # a new value: current again, no fault time
    t1 = fault_at + timedelta(minutes=1)
    twin.apply(Sample("a.p", 22.0, t1))
    st = twin.state("a.p")
    assert st.source_ts == t1 and st.quality_ts is None and _live(twin, "qualityChangedAt") is None
    twin.close()


def test_fault_before_any_value_has_no_source_time() -> None:
    twin = Twin(make_model([make_point()]))
    twin.apply(Sample.bad("a.p", "BadNotConnected", "refused", source_ts=T0))
    st = twin.state("a.p")
    assert st.value is None and st.source_ts is None and st.quality_ts == T0
    twin.close()
