"""OPC UA sources and addresses in mapping files: what loads, what is refused (with its position), what the graph
gets, and that passwords stay secret."""

from __future__ import annotations

import textwrap

import pytest

from adapters.opcua.config import OpcUaAddress, OpcUaSourceConfig
from gateway.config.errors import ConfigErrors
from gateway.config.loader import load_mappings
from gateway.twin.materialize import model_ntriples
from gateway.twin.vocab import TwinIRIs

MAPPING = """\
twin: {name: t, base_iri: "http://t.local/"}
sources:
  - id: press
    kind: opcua
    url: "opc.tcp://10.0.0.5:4840/press"
    security: {policy: Basic256Sha256, mode: Sign, pki_dir: pki}
    auth: {type: username, username: operator, password: "${PRESS_PASSWORD}"}
    namespaces: {press: "urn:acme:press"}
    publishing_interval: 200ms
assets:
  - id: press1
    type: equipment
    source: press
    points:
      - {id: force, unit: KiloN, address: {node: "nsu=urn:acme:press;s=Press.Force", deadband: {absolute: 0.5}}}
      - {id: temp, unit: DEG_C, address: {browse_path: "/Objects/press:Press/press:Temp", mode: poll,
         poll_interval: 2s}}
      - {id: stroke, unit: MilliM, address: {node: "ns=3;i=1001", index: 2, sampling_interval: 50ms}}
      - {id: sp, type: setpoint, unit: DEG_C, writable: true, address: {node: "ns=3;s=Press.Setpoint"}}
"""


def load(text: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return load_mappings(["m.yaml"], texts={"m.yaml": textwrap.dedent(text)}, env=env or {})


def errors(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigErrors) as exc:
        load(text, env or {"PRESS_PASSWORD": "pw"})
    return [str(e) for e in exc.value.errors]


def test_valid_mapping_loads_with_the_password_kept_secret() -> None:
    m = load(MAPPING, {"PRESS_PASSWORD": "hunter2-secret"})
    src = m.sources["press"]
    assert isinstance(src, OpcUaSourceConfig)
    assert src.security.effective_mode == "Sign" and src.publishing_interval == 0.2
    assert src.auth.password is not None and src.auth.password.get_secret_value() == "hunter2-secret"
    assert "hunter2" not in repr(src) and "hunter2" not in str(src.model_dump()) and "hunter2" not in src.endpoint()
    addr = m.points["press1.stroke"].address
    assert isinstance(addr, OpcUaAddress) and addr.index == 2 and addr.sampling_interval == 0.05
    assert m.points["press1.temp"].address.mode == "poll"  # type: ignore[attr-defined]


def test_graph_gets_node_ids_browse_paths_and_targets() -> None:
    m = load(MAPPING, {"PRESS_PASSWORD": "pw"})
    nt = model_ntriples(m, TwinIRIs(m.settings.base_iri))
    ref = "<http://t.local/point/press1.force/ref>"
    tb, uav = "https://w3id.org/twinbridge#", "http://opcfoundation.org/UA/WoT-Binding/"
    assert f'{ref} <{tb}nodeId> "nsu=urn:acme:press;s=Press.Force"' in nt
    assert f'{ref} <{uav}id> "nsu=urn:acme:press;s=Press.Force"' in nt
    assert f'{ref} <{tb}namespaceUri> "urn:acme:press"' in nt
    assert f"{ref} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{tb}OpcUaReference>" in nt
    assert (
        f"{ref} <https://www.w3.org/2019/wot/hypermedia#hasTarget> "
        f'"opc.tcp://10.0.0.5:4840/press/?id=nsu=urn:acme:press;s=Press.Force"'
    ) in nt
    temp = "<http://t.local/point/press1.temp/ref>"
    assert f'{temp} <{tb}browsePath> "/Objects/press:Press/press:Temp"' in nt
    assert f'{temp} <{uav}browsePath> "/Objects/press:Press/press:Temp"' in nt
    assert f'{temp} <{tb}acquisition> "poll"' in nt
    stroke = "<http://t.local/point/press1.stroke/ref>"
    assert f"{stroke} <{tb}arrayIndex> " in nt and "?id=ns=3;i=1001&index=2" in nt
    assert "pw" not in nt.replace("press", "")  # no credentials in the graph


def test_target_escapes_reserved_characters() -> None:
    src = OpcUaSourceConfig(id="s", url="opc.tcp://h:4840", security={"policy": "None"})
    addr = OpcUaAddress(node="ns=2;s=Tank#1&2")
    assert addr.target(src) == "opc.tcp://h:4840/?id=ns=2;s=Tank%231%262"
    assert addr.key() == "ns=2;s=Tank#1&2"


@pytest.mark.parametrize(
    ("replace", "by", "line", "fragment"),
    [
        ('node: "ns=3;i=1001"', 'node: "ns=3;i=x"', 18, "i= must be an integer"),
        ('node: "ns=3;i=1001"', 'node: "ns=3;i=1001", browse_path: "/Objects/1:A"', 18, "exactly one of node"),
        ("/Objects/press:Press/press:Temp", "/Objects/plant:Press/press:Temp", 16, "prefix 'plant'"),
        ("/Objects/press:Press/press:Temp", "Objects/press:Press", 16, "starts at the Root folder"),
        ('"opc.tcp://10.0.0.5:4840/press"', '"opc.tcp://operator:pw@10.0.0.5:4840/press"', 5, "credentials"),
        ('"opc.tcp://10.0.0.5:4840/press"', '"http://10.0.0.5:4840"', 5, "opc.tcp://"),
        ("policy: Basic256Sha256, mode: Sign", "policy: None, mode: Sign", 6, "needs a security policy"),
        ("policy: Basic256Sha256, mode: Sign", "policy: Basic256", 6, "Basic256Sha256"),
        ('password: "${PRESS_PASSWORD}"', "", 7, "needs password"),
        ("deadband: {absolute: 0.5}", "deadband: {absolute: 0.5, percent: 1}", 15, "exactly one of absolute"),
        ("index: 2,", "index: -1,", 18, "greater than or equal to 0"),
        ("publishing_interval: 200ms", "publishing_interval: 200ms\n    bogus: 1", 10, "bogus"),
    ],
)
def test_mistakes_are_reported_with_their_position(replace: str, by: str, line: int, fragment: str) -> None:
    assert replace in MAPPING
    errs = errors(MAPPING.replace(replace, by))
    assert any(e.startswith(f"m.yaml:{line}:") and fragment in e for e in errs), errs


def test_deadbands_need_numeric_subscribed_points() -> None:
    text = MAPPING + (
        '      - {id: name, datatype: string, address: {node: "ns=3;s=Name", deadband: {absolute: 1}}}\n'
        '      - {id: p2, unit: DEG_C, address: {node: "ns=3;s=P2", mode: poll, deadband: {absolute: 1}}}\n'
    )
    errs = errors(text)
    assert any("m.yaml:20:" in e and "numeric point" in e for e in errs), errs
    assert any("m.yaml:21:" in e and "only apply to subscribed points" in e for e in errs), errs


def test_source_level_poll_mode_refuses_deadbands_too() -> None:
    errs = errors(MAPPING.replace("publishing_interval: 200ms", "mode: poll"))
    assert any("m.yaml:15:" in e and "polled" in e for e in errs), errs
