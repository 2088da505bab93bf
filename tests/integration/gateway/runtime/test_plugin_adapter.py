"""A protocol adapter from the test folder alone (echo_plugin/), known to no core file.

Installed as a distribution would install it (a real entry point of the documented ``twinbridge.adapters`` group on
``sys.path``) or registered with ``adapters.registry.register``: its mapping loads and validates (address errors at
file:line, its own profile placeholders), its ontology fragment reaches the twin and the SHACL check, a Gateway runs
it and its samples reach SPARQL, and ``twinbridge discover echo`` dispatches to its discovery command.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters import registry
from adapters.contract.sample import Quality
from gateway import cli
from gateway.config.errors import ConfigErrors
from gateway.config.loader import load_mappings
from gateway.runtime import Gateway
from gateway.shacl import check_model
from tests.conftest import wait_for

PLUGIN = Path(__file__).parent / "echo_plugin"
ENTRY = "tests.integration.gateway.runtime.echo_plugin.adapter:EchoAdapter"
TB = "https://w3id.org/twinbridge#"

MAPPING = """\
twin: {base_iri: "http://t.local/", flush_interval: 50ms}
sources:
  - {id: e1, kind: echo, interval: 20ms}
assets:
  - {id: site, type: site, label: Site}
  - {id: tank, parent: site, source: e1, profile: echo-pair, vars: {level: 3.5}}
"""
PROFILE = """\
profile: echo-pair
source_kind: echo
points:
  - {id: level, unit: M, datatype: double, address: {value: "{level}", note: "run {echo_run}"}}
  - {id: temp, unit: DEG_C, datatype: double, address: {value: 21.5}}
"""
BAD = """\
sources:
  - {id: e1, kind: echo}
assets:
  - id: tank
    source: e1
    points:
      - {id: ok, unit: M, datatype: double, address: {value: 1}}
      - {id: negative, unit: M, datatype: double, address: {value: -1}}
      - {id: typo, unit: M, datatype: double, address: {valu: 1}}
"""


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The echo kind installed as a distribution: a dist-info declaring the entry point, on sys.path."""
    dist = tmp_path / "site" / "echo_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-plugin\nVersion: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(f"[twinbridge.adapters]\necho = {ENTRY}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(registry, "_loaded", dict(registry._loaded))  # forgotten again after the test
    yield


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.asyncio
async def test_an_installed_kind_loads_validates_runs_and_reaches_sparql(installed: None, tmp_path: Path) -> None:
    assert "echo" in registry.known_kinds()
    mapping = _write(tmp_path, "plant.yaml", MAPPING)
    _write(tmp_path, "profiles/echo-pair.yaml", PROFILE)
    model = load_mappings([mapping], env={})
    level = model.points["tank.level"]
    assert level.address.value == 3.5  # type: ignore[attr-defined]
    assert level.address.note == "run {echo_run}"  # type: ignore[attr-defined]  # left for the adapter
    assert model.ontology_fragments == [str(PLUGIN / "ontology.ttl")]
    assert check_model(model) == []

    gw = Gateway(model)
    await gw.start(services=False)
    try:
        twin = gw.twin
        await wait_for(lambda: all(twin.state(p).quality is Quality.GOOD for p in model.points), what="echo samples")
        rows = await twin.query(f"""
            SELECT ?id ?v ?echo WHERE {{
              ?p <{TB}id> ?id ; <{TB}value> ?v ;
                 <https://brickschema.org/schema/Brick/ref#hasExternalReference> ?r .
              ?r a <{TB}EchoReference> ; <{TB}echoValue> ?echo .
            }}""")
        assert sorted((r["id"].value, float(r["v"].value), float(r["echo"].value)) for r in rows) == [
            ("tank.level", 3.5, 3.5),
            ("tank.temp", 21.5, 21.5),
        ]
        declared = (
            f"ASK {{ <{TB}EchoReference> <http://www.w3.org/2000/01/rdf-schema#subClassOf> <{TB}ProtocolReference> }}"
        )
        assert twin.query_sync(declared)  # the fragment is in the twin's ontology graph
    finally:
        await gw.stop()


def test_address_errors_of_the_kind_are_reported_at_file_and_line(installed: None, tmp_path: Path) -> None:
    mapping = _write(tmp_path, "bad.yaml", BAD)
    with pytest.raises(ConfigErrors) as exc:
        load_mappings([mapping], env={})
    text = str(exc.value)
    assert f"{mapping}:8:" in text and "greater than or equal to 0" in text
    assert f"{mapping}:9:" in text and "valu" in text
    assert {e.line for e in exc.value.errors} == {8, 9}  # the valid point and the source are fine


def test_a_profile_placeholder_the_kind_does_not_fill_is_an_error(installed: None, tmp_path: Path) -> None:
    mapping = _write(tmp_path, "plant.yaml", MAPPING)
    _write(tmp_path, "profiles/echo-pair.yaml", PROFILE.replace("{echo_run}", "{nobody_fills_this}"))
    with pytest.raises(ConfigErrors, match=r"placeholder \{nobody_fills_this\} has no value"):
        load_mappings([mapping], env={})


def test_a_registered_kind_offers_discovery(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.integration.gateway.runtime.echo_plugin.adapter import EchoAdapter

    monkeypatch.setattr(registry, "_loaded", dict(registry._loaded))
    registry.register(EchoAdapter)
    assert registry.discovery_kinds() == ["echo", "opcua"]
    assert cli.main(["discover", "echo", "1.5", "2"]) == 0
    draft = capsys.readouterr().out
    model = load_mappings(["draft.yaml"], texts={"draft.yaml": draft}, env={})
    assert {p.id: (p.unit, p.address.value) for p in model.points.values()} == {  # type: ignore[attr-defined]
        "a.p0": ("DEG_C", 1.5),
        "a.p1": ("DEG_C", 2.0),
    }
