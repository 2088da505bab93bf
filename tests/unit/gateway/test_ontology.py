"""The twin ontology: every term the code writes is declared, the alignments hold, the ontology graph the twin
loads answers the SPARQL examples of docs/ontology.md, and the WoT binding terms exist in their vocabularies."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox
import pytest

from adapters.contract.sample import Quality, Sample
from adapters.registry import BUILTIN, get_adapter
from gateway.config.loader import load_mappings
from gateway.model import TwinModel
from gateway.ontology import BRICK_TTL, TWINBRIDGE_TTL, brick_ntriples, ontology_ntriples, validation_ntriples
from gateway.twin.materialize import model_ntriples
from gateway.twin.twin import Twin
from gateway.twin.vocab import TwinIRIs

ROOT = Path(__file__).resolve().parents[3]
TB = "https://w3id.org/twinbridge#"
BRICK = "https://brickschema.org/schema/Brick#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
MODV = "https://www.w3.org/2019/wot/modbus#"
MQV = "https://www.w3.org/2019/wot/mqtt#"
REQUIRED_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# the twinbridge ontology and the fragment of every built-in adapter (the terms its addresses write)
FRAGMENTS = [f for kind in BUILTIN if (f := get_adapter(kind).ontology()) is not None]
ALL_TTL = [TWINBRIDGE_TTL, *FRAGMENTS]


def _store(*paths: Path) -> ox.Store:
    store = ox.Store()
    for p in paths:
        store.bulk_load(path=str(p), format=ox.RdfFormat.TURTLE)
    return store


def _declared() -> dict[str, set[str]]:
    """tb: term -> its rdf:types in twinbridge.ttl and the adapters' fragments."""
    out: dict[str, set[str]] = {}
    for q in _store(*ALL_TTL).quads_for_pattern(None, ox.NamedNode(RDF_TYPE), None):
        if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(TB):
            out.setdefault(q.subject.value, set()).add(q.object.value)
    return out


def _example_models() -> list[TwinModel]:
    from gateway.northbound.credentials import hash_password

    models = []
    for path in sorted((ROOT / "examples").rglob("*.yaml")):
        env = {n: "example-value-of-32-characters-xx" for n in REQUIRED_VAR.findall(path.read_text())}
        if "DEMO_UA_PASSWORD_HASH" in env:
            env["DEMO_UA_PASSWORD_HASH"] = hash_password("example", iterations=1000)
        models.append(load_mappings([path], env=env))
    return models


@pytest.fixture(scope="module")
def example_models() -> list[TwinModel]:
    return _example_models()


@pytest.fixture(scope="module")
def example_graph(example_models: list[TwinModel]) -> list[tuple[str, str, str]]:
    """(subject, predicate, object) of the model graphs of every example mapping."""
    triples = []
    for model in example_models:
        store = ox.Store()
        store.bulk_load(model_ntriples(model, TwinIRIs(model.settings.base_iri)).encode(), ox.RdfFormat.N_TRIPLES)
        triples += [(q.subject.value, q.predicate.value, q.object.value) for q in store]
    assert len(triples) > 500
    return triples


# -- declarations -------------------------------------------------------------------------------------------


def test_every_tb_term_the_examples_materialize_is_declared(example_graph: list[tuple[str, str, str]]) -> None:
    declared = _declared()
    used = {p for _, p, _ in example_graph if p.startswith(TB)}
    used |= {o for _, p, o in example_graph if p == RDF_TYPE and o.startswith(TB)}
    assert used - set(declared) == set()
    assert len(used) > 30


def test_every_tb_term_in_the_code_is_declared() -> None:
    # adapters and the twin build IRIs as TB + "name"; a new term must be declared in twinbridge.ttl or a fragment
    pattern = re.compile(r'\bTB \+ "([A-Za-z_]+)"')
    used = {
        m for path in [*ROOT.glob("gateway/**/*.py"), *ROOT.glob("adapters/**/*.py")]
        for m in pattern.findall(path.read_text(encoding="utf-8"))
    }  # fmt: skip
    assert len(used) > 40
    assert {TB + name for name in used} - set(_declared()) == set()


def test_every_tb_term_has_a_label_and_properties_a_kind() -> None:
    store = _store(*ALL_TTL)
    for term, types in _declared().items():
        labels = list(store.quads_for_pattern(ox.NamedNode(term), ox.NamedNode(RDFS + "label"), None))
        assert len(labels) == 1, term
        assert types & {OWL + "Class", OWL + "ObjectProperty", OWL + "DatatypeProperty", TB + "Quality"}, term


# -- each adapter's own fragment ---------------------------------------------------------------------------


def _terms(*paths: Path) -> set[str]:
    return {q.subject.value for q in _store(*paths) if isinstance(q.subject, ox.NamedNode)}


@pytest.mark.parametrize("kind", sorted(BUILTIN))
def test_each_adapter_declares_what_its_addresses_write_in_its_own_fragment(
    kind: str, example_models: list[TwinModel]
) -> None:
    cls = get_adapter(kind)
    fragment = cls.ontology()
    assert fragment is not None and fragment.parent == ROOT / "adapters" / kind
    own = _terms(fragment)
    assert not own & _terms(TWINBRIDGE_TTL)  # moved out of the core ontology, not copied
    # what the examples' addresses of this kind write, and every TB + "name" the adapter's code names
    written = {cls.address_model.ref_class}
    for model in example_models:
        for p in model.points.values():
            if model.sources[p.source].kind == kind:
                written |= {pred for pred, _ in p.address.rdf() if pred.startswith(TB)}
                assert fragment.as_posix() in model.ontology_fragments
    assert len(written) > 2
    code = "".join(f.read_text(encoding="utf-8") for f in (ROOT / "adapters" / kind).glob("*.py"))
    named = {TB + n for n in re.findall(r'\bTB \+ "([A-Za-z_]+)"', code)}
    assert written | named <= own
    ref = "https://brickschema.org/schema/Brick/ref#ExternalReference"
    assert _store(TWINBRIDGE_TTL, fragment).query(
        f"ASK {{ <{cls.address_model.ref_class}> <{RDFS}subClassOf>+ <{ref}> }}"
    )


def test_the_shacl_check_loads_the_fragments_of_the_adapters_in_use(example_models: list[TwinModel]) -> None:
    from gateway.shacl import check_model

    model = next(m for m in example_models if {s.kind for s in m.sources.values()} >= {"modbus", "mqtt", "opcua"})
    assert check_model(model) == []
    text = validation_ntriples([], [], model.ontology_fragments)
    for kind in ("modbus", "mqtt", "opcua"):
        assert f"<{get_adapter(kind).address_model.ref_class}> <{RDFS}subClassOf> <{TB}ProtocolReference>" in text


@pytest.mark.parametrize(
    ("s", "p", "o"),
    [
        ("tb:Site", "rdfs:subClassOf", "brick:Site"),
        ("tb:Area", "rdfs:subClassOf", "brick:Location"),
        ("tb:Line", "rdfs:subClassOf", "brick:Location"),
        ("tb:Equipment", "rdfs:subClassOf", "brick:Equipment"),
        ("tb:Equipment", "rdfs:subClassOf", "sosa:Platform"),
        ("tb:Point", "rdfs:subClassOf", "brick:Point"),
        ("tb:Measurement", "rdfs:subClassOf", "brick:Sensor"),
        ("tb:Measurement", "rdfs:subClassOf", "sosa:Sensor"),
        ("tb:Status", "rdfs:subClassOf", "brick:Status"),
        ("tb:Setpoint", "rdfs:subClassOf", "brick:Setpoint"),
        ("tb:Setpoint", "rdfs:subClassOf", "sosa:Actuator"),
        ("tb:Command", "rdfs:subClassOf", "brick:Command"),
        ("tb:ProtocolReference", "rdfs:subClassOf", "ref:ExternalReference"),
        ("tb:ModbusReference", "rdfs:subClassOf", "tb:ProtocolReference"),
        ("tb:OpcUaReference", "rdfs:subClassOf", "tb:ProtocolReference"),
        ("tb:MqttReference", "rdfs:subClassOf", "tb:ProtocolReference"),
        ("tb:SimReference", "rdfs:subClassOf", "tb:ProtocolReference"),
        ("tb:value", "rdfs:subPropertyOf", "sosa:hasSimpleResult"),
        ("tb:sourceTime", "rdfs:subPropertyOf", "sosa:resultTime"),
        ("tb:Good", "rdf:type", "tb:Quality"),
        ("tb:Uncertain", "rdf:type", "tb:Quality"),
        ("tb:Bad", "rdf:type", "tb:Quality"),
    ],
)
def test_alignment(s: str, p: str, o: str) -> None:
    from gateway.classes import expand

    store = _store(*ALL_TTL)
    assert list(store.quads_for_pattern(ox.NamedNode(expand(s)), ox.NamedNode(expand(p)), ox.NamedNode(expand(o))))


# -- what the twin and the SHACL check load ------------------------------------------------------------------


def test_ontology_ntriples_holds_twinbridge_brick_and_the_units_asked_for() -> None:
    text = ontology_ntriples(["DEG_C", "KiloW"])
    store = ox.Store()
    store.bulk_load(text.encode(), ox.RdfFormat.N_TRIPLES)
    ask = store.query
    assert ask(f"ASK {{ <{TB}Measurement> <{RDFS}subClassOf> <{BRICK}Sensor> }}")
    assert ask(f"ASK {{ <{BRICK}Supply_Air_Temperature_Sensor> <{RDFS}subClassOf>+ <{BRICK}Temperature_Sensor> }}")
    units = {s["u"].value for s in ask("SELECT ?u WHERE { ?u a <http://qudt.org/schema/qudt/Unit> }")}
    assert units == {"http://qudt.org/vocab/unit/DEG_C", "http://qudt.org/vocab/unit/KiloW"}
    n_brick = len(_store(BRICK_TTL))
    assert len(store) > n_brick > 4000


def test_validation_graph_has_only_the_brick_classes_in_use() -> None:
    text = brick_ntriples([BRICK + "Supply_Air_Temperature_Sensor", "http://example.org/Kiln"])
    subjects = {line.split(" ")[0] for line in text.splitlines()}
    assert subjects == {
        f"<{BRICK}{c}>"
        for c in ("Supply_Air_Temperature_Sensor", "Air_Temperature_Sensor", "Temperature_Sensor", "Sensor", "Point",
                  "Class", "Entity")
    }  # fmt: skip
    full = validation_ntriples([BRICK + "Boiler"], ["DEG_C"])
    assert f"<{BRICK}Boiler>" in full and f"<{BRICK}Chiller>" not in full
    assert "<http://qudt.org/vocab/unit/DEG_C>" in full


# -- the documented SPARQL examples, on a twin ------------------------------------------------------------------

MAPPING = """\
twin: {base_iri: "http://plant.local/"}
sources:
  - {id: plc1, kind: modbus, url: "tcp://127.0.0.1:5020", unit: 1}
assets:
  - {id: site, type: site, label: Plant}
  - {id: hall1, type: area, parent: site, label: Boiler house}
  - id: boiler1
    type: brick:Boiler
    parent: hall1
    source: plc1
    points:
      - {id: supply_temp, class: brick:Supply_Water_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {table: holding, address: 40, encoding: float32}}
      - {id: sp, type: setpoint, unit: DEG_C, datatype: float, writable: true, min: 40, max: 90,
         address: {table: holding, address: 42, encoding: float32}}
      - {id: raw, unit: DEG_C, datatype: float, transform: {source_unit: DEG_F},
         address: {table: input, address: 0, encoding: int16}}
"""


def _doc_queries() -> list[str]:
    text = (ROOT / "docs" / "ontology.md").read_text(encoding="utf-8")
    return re.findall(r"```sparql\n(.*?)```", text, flags=re.S)


@pytest.fixture(scope="module")
def twin() -> Twin:
    t = Twin(load_mappings(["plant.yaml"], texts={"plant.yaml": MAPPING}))
    t.apply(Sample("boiler1.supply_temp", 71.5, datetime.now(UTC), Quality.GOOD, "Good", None, "plc1"))
    return t


def _rows(twin: Twin, sparql: str) -> list[tuple[str | None, ...]]:
    result = twin.query_sync(sparql)
    names = [v.value for v in result.variables]
    return sorted(tuple(s[n].value if s[n] is not None else None for n in names) for s in result)


def test_the_twin_ontology_graph_holds_the_fragments_of_the_adapters_in_use(twin: Twin) -> None:
    ask = f"ASK {{ GRAPH ?g {{ <{TB}%s> <{RDFS}subClassOf> <{TB}ProtocolReference> }} }}"
    assert twin.query_sync(ask % "ModbusReference")
    assert not twin.query_sync(ask % "OpcUaReference")  # no OPC UA source in this mapping


def test_docs_have_the_queries_this_test_checks() -> None:
    assert len(_doc_queries()) == 5


def test_doc_query_temperature_sensors(twin: Twin) -> None:
    # brick:Supply_Water_Temperature_Sensor is found through rdfs:subClassOf* from brick:Temperature_Sensor
    assert _rows(twin, _doc_queries()[0]) == [("boiler1.supply_temp", "71.5", "°C")]


def test_doc_query_registers(twin: Twin) -> None:
    assert _rows(twin, _doc_queries()[1]) == [
        ("boiler1.raw", MODV + "InputRegister", "0", "modbus+tcp://127.0.0.1:5020/1/0?quantity=1", "tcp://127.0.0.1:5020"),
        ("boiler1.sp", MODV + "HoldingRegister", "42", "modbus+tcp://127.0.0.1:5020/1/42?quantity=2",
         "tcp://127.0.0.1:5020"),
        ("boiler1.supply_temp", MODV + "HoldingRegister", "40", "modbus+tcp://127.0.0.1:5020/1/40?quantity=2",
         "tcp://127.0.0.1:5020"),
    ]  # fmt: skip


def test_doc_query_setpoints_under_an_area(twin: Twin) -> None:
    assert _rows(twin, _doc_queries()[2]) == [("boiler1.sp", "40", "90")]


def test_doc_query_points_not_good(twin: Twin) -> None:
    reason = twin.state("boiler1.sp").reason
    assert _rows(twin, _doc_queries()[3]) == [
        ("boiler1.raw", "BadWaitingForInitialData", reason),
        ("boiler1.sp", "BadWaitingForInitialData", reason),
    ]


def test_doc_query_convertible_units(twin: Twin) -> None:
    # DEG_F is in the ontology graph because boiler1.raw converts from it
    f = "http://qudt.org/vocab/unit/DEG_F"
    assert _rows(twin, _doc_queries()[4]) == [("boiler1.raw", f), ("boiler1.sp", f), ("boiler1.supply_temp", f)]


# -- W3C WoT binding vocabularies ---------------------------------------------------------------------------

# Properties of the W3C WoT Modbus ontology (w3c/wot-binding-templates bindings/protocols/modbus/ontology.ttl)
MODV_PROPERTIES = {
    "hasDataRequest", "hasDataResponse", "hasEntity", "hasExceptionCode", "hasExceptionFunction", "hasFunction",
    "hasPayloadDataType", "readFrom", "writesOn", "hasAddress", "hasCodeNumber", "hasPollingTime", "hasQuantity",
    "hasTimeout", "hasUnitID", "hasZeroBasedAddressingFlag", "hasMostSignificantByte", "hasMostSignificantWord",
}  # fmt: skip
# Properties of the W3C WoT MQTT ontology (bindings/protocols/mqtt/ontology.ttl); the JSON-LD context maps the TD
# form terms topic/qos/retain/controlPacket onto hasTopicName/hasQoSFlag/hasRetainFlag/sendsControlPacket.
MQV_PROPERTIES = {
    "sendsControlPacket", "hasQoSFlag", "hasPayload", "hasTopicName", "hasTopicFilters", "fixedHeaderFlag",
    "hasDUPFlag", "hasRetainFlag", "hasVariableHeaderFlag",
}  # fmt: skip


def test_modbus_terms_are_w3c_wot_modbus_properties(example_graph: list[tuple[str, str, str]]) -> None:
    used = {p[len(MODV) :] for _, p, _ in example_graph if p.startswith(MODV)}
    assert used, "the Modbus example writes no modv: terms"
    assert used <= MODV_PROPERTIES


def test_mqtt_terms_are_w3c_wot_mqtt_properties(example_graph: list[tuple[str, str, str]]) -> None:
    # the TD form terms mqv:topic/qos/retain/controlPacket are JSON-LD names, not RDF properties
    used = {p[len(MQV) :] for _, p, _ in example_graph if p.startswith(MQV)}
    assert used, "the MQTT example writes no mqv: terms"
    assert used <= MQV_PROPERTIES
    packets = {o for _, p, o in example_graph if p == MQV + "sendsControlPacket"}
    assert packets and packets <= {MQV + "PUBLISH", MQV + "SUBSCRIBE", MQV + "UNSUBSCRIBE"}
    qos = {o for _, p, o in example_graph if p == MQV + "hasQoSFlag"}
    assert qos <= {f"https://www.w3.org/2019/wot/mqtt/qualitfyOfService#{n}" for n in range(3)}
