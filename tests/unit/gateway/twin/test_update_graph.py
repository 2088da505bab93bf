"""Side-graph updates: analytics writes its alarms graph through the twin, never the model or live graph."""

from __future__ import annotations

import pytest

from gateway.config.loader import load_mappings
from gateway.twin.twin import Twin
from gateway.twin.view import TwinView

MAPPING = """\
twin: {base_iri: "http://m.local/"}
sources:
  - {id: sim1, kind: sim}
assets:
  - id: a1
    source: sim1
    points:
      - {id: t, unit: DEG_C, datatype: float}
"""


def _view() -> tuple[Twin, TwinView]:
    twin = Twin(load_mappings(["m.yaml"], texts={"m.yaml": MAPPING}))
    return twin, TwinView(twin)


def test_a_side_graph_update_reaches_the_store_and_the_replicas() -> None:
    twin, view = _view()
    heard: list[str] = []
    view.add_update_listener(heard.append)
    g = view.ids.graph_alarms
    update = f'INSERT DATA {{ GRAPH <{g}> {{ <http://m.local/alarm/1> <http://m.local/p> "x" }} }}'
    view.update_graph(update)
    rows = list(twin.query_sync(f"SELECT ?o WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}"))
    assert [r["o"].value for r in rows] == ["x"]
    assert heard == [update]  # the query worker's replica follows it like a live flush


@pytest.mark.parametrize("graph", ["graph_model", "graph_live", "graph_ontology"])
def test_the_twins_own_graphs_are_refused(graph: str) -> None:
    twin, view = _view()
    g = getattr(view.ids, graph)
    before = len(twin.store)
    with pytest.raises(ValueError, match="own graph"):
        view.update_graph(f"INSERT DATA {{ GRAPH <{g}> {{ <http://m.local/x> <http://m.local/p> 1 }} }}")
    assert len(twin.store) == before
