"""Mapping files: valid ones build the model; each kind of error names file:line:column and says what is wrong."""

from __future__ import annotations

import textwrap

import pytest

from adapters.contract.model import AssetLevel, DataType, PointKind
from gateway.config.errors import ConfigErrors
from gateway.config.loader import load_mappings

GOOD = """\
twin: {name: t, base_iri: "http://t.local/"}
sources:
  - {id: sim1, kind: sim, interval: 100ms}
assets:
  - {id: site, type: site, label: Site}
  - id: boiler1
    type: brick:Boiler
    parent: site
    source: sim1
    points:
      - {id: temp, class: brick:Water_Temperature_Sensor, unit: DEG_C, datatype: float, min: 0, max: 120,
         transform: {scale: 0.1, deadband: 0.5}}
      - {id: sp, type: setpoint, unit: DEG_C, datatype: float, writable: true, min: 40, max: 90}
      - {id: run, type: status, datatype: bool}
"""


def load(files: dict[str, str], env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return load_mappings(list(files), texts={k: textwrap.dedent(v) for k, v in files.items()}, env=env or {})


def errors(files: dict[str, str], env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigErrors) as exc:
        load(files, env)
    return [str(e) for e in exc.value.errors]


def test_valid_mapping_builds_model() -> None:
    m = load({"plant.yaml": GOOD})
    assert set(m.assets) == {"site", "boiler1"}
    assert m.assets["site"].level is AssetLevel.SITE
    assert m.assets["boiler1"].level is AssetLevel.EQUIPMENT
    assert m.assets["boiler1"].parent == "site"
    t = m.points["boiler1.temp"]
    assert t.unit == "DEG_C" and t.datatype is DataType.FLOAT and t.source == "sim1"
    assert t.transform.scale == 0.1 and t.transform.deadband is not None
    assert t.origin is not None and t.origin.file == "plant.yaml" and t.origin.line == 11
    assert m.points["boiler1.sp"].kind is PointKind.SETPOINT and m.points["boiler1.sp"].writable
    assert m.points["boiler1.run"].datatype is DataType.BOOL


def test_every_error_reported_with_position() -> None:
    bad = """\
    sources:
      - {id: sim1, kind: sim}
      - {id: sim1, kind: sim}
      - {id: plc, kind: modbsu}
    assets:
      - id: a
        type: brick:Boilr
        source: sim1
        points:
          - {id: t, unit: DEG_C, datatype: float}
          - {id: t, unit: DEGC, datatype: float}
          - {id: n, datatype: float}
          - {id: s, unit: DEG_C, datatype: float, source: nope}
          - {id: x, unit: DEG_C, datatype: floot}
          - {id: y, unit: DEG_C, datatype: float, colour: red}
          - {id: z, unit: DEG_C, datatype: int16, max: 40000}
          - {id: w, unit: DEG_C, datatype: float, min: 10, max: 5}
    """
    errs = errors({"bad.yaml": bad})
    text = "\n".join(errs)
    assert "bad.yaml:3:" in text and "duplicate source id 'sim1'" in text
    assert "bad.yaml:4:" in text and "unknown adapter kind 'modbsu' (known: " in text and "sim" in text
    assert "bad.yaml:7:" in text and "unknown Brick class brick:Boilr (did you mean brick:Boiler" in text
    assert "bad.yaml:11:" in text and "unknown unit 'DEGC' (did you mean DEG_C" in text
    assert "bad.yaml:12:" in text and "needs a unit" in text
    assert "bad.yaml:13:" in text and "unknown source id 'nope'" in text
    assert "bad.yaml:14:" in text and "floot" in text
    assert "bad.yaml:15:" in text and "colour" in text
    assert "bad.yaml:16:" in text and "40000" in text
    assert "bad.yaml:17:" in text and "greater than max" in text
    for e in errs:
        assert e.startswith("bad.yaml:"), e


def test_duplicate_point_id() -> None:
    text = GOOD.replace(
        "      - {id: run, type: status, datatype: bool}",
        "      - {id: run, type: status, datatype: bool}\n      - {id: sp, type: status, datatype: bool}",
    )
    errs = errors({"p.yaml": text})
    assert len(errs) == 1 and errs[0].startswith("p.yaml:15:") and "duplicate point id 'boiler1.sp'" in errs[0]
    assert "first defined at p.yaml:13" in errs[0]


def test_yaml_syntax_and_duplicate_keys() -> None:
    errs = errors({"s.yaml": "sources:\n  - {id: a, kind: sim\n"})
    assert errs[0].startswith("s.yaml:") and len(errs) == 1
    errs = errors({"d.yaml": "sources: []\nassets: []\nsources: []\n"})
    assert any("d.yaml:3:1" in e and "duplicate key 'sources'" in e for e in errs)


def test_env_interpolation_and_missing_variable() -> None:
    text = GOOD.replace("interval: 100ms", 'interval: "${TICK:-100ms}", label: "${LABEL}"')
    m = load({"p.yaml": text}, env={"LABEL": "from env"})
    assert m.sources["sim1"].label == "from env"
    errs = errors({"p.yaml": text})
    assert any("p.yaml:3:" in e and "LABEL" in e for e in errs)


def test_files_combine_and_cross_reference() -> None:
    a = "sources:\n  - {id: sim1, kind: sim}\nassets:\n  - {id: site, type: site}\n"
    b = (
        "assets:\n  - id: pump\n    parent: site\n    source: sim1\n    points:\n"
        "      - {id: speed, unit: PERCENT, datatype: float}\n"
    )
    m = load({"a.yaml": a, "b.yaml": b})
    assert m.points["pump.speed"].origin.file == "b.yaml"  # type: ignore[union-attr]
    errs = errors({"b.yaml": b})
    assert any(e.startswith("b.yaml:3:") and "unknown parent asset 'site'" in e for e in errs)


def test_profile_instances(tmp_path) -> None:  # type: ignore[no-untyped-def]
    prof = tmp_path / "profiles"
    prof.mkdir()
    (prof / "meter.yaml").write_text(
        textwrap.dedent("""\
        profile: meter
        type: brick:Electrical_Meter
        points:
          - {id: power, unit: KiloW, datatype: float, label: "{name} power", address: {signal: sine, amplitude: 3}}
          - {id: energy, unit: KiloW-HR, datatype: double, address: {signal: counter}}
        """)
    )
    main = tmp_path / "plant.yaml"
    main.write_text(
        textwrap.dedent("""\
        sources:
          - {id: sim1, kind: sim}
        assets:
          - {id: m1, profile: meter, source: sim1, vars: {name: Meter 1}}
          - {id: m2, profile: meter, source: sim1, vars: {name: Meter 2}}
          - {id: m3, profile: metre, source: sim1}
        """)
    )
    with pytest.raises(ConfigErrors) as exc:
        load_mappings([main])
    msgs = [str(e) for e in exc.value.errors]
    assert any(":6:" in m and "missing profile 'metre'" in m and "meter" in m for m in msgs), msgs
    text = main.read_text().replace("  - {id: m3, profile: metre, source: sim1}\n", "")
    main.write_text(text)
    m = load_mappings([main])
    assert m.points["m2.power"].label == "Meter 2 power"
    assert m.points["m1.energy"].unit == "KiloW-HR"
    assert m.assets["m1"].profile == "meter"
