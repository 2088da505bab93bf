"""Every example mapping loads and its materialized twin passes the SHACL shapes: examples are documentation
that integrators copy, so a broken one is a bug."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.config.errors import ConfigErrors
from gateway.config.loader import load_mappings
from gateway.shacl import check_model

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").rglob("*.yaml"))
# ${NAME} without a default: a secret or a value the runner sets (the loader refuses the file without it)
REQUIRED_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _env_for(text: str) -> dict[str, str]:
    env = {name: "example-value-of-32-characters-xx" for name in REQUIRED_VAR.findall(text)}
    if "DEMO_UA_PASSWORD_HASH" in env:  # the OPC UA server checks the hash format
        from gateway.northbound.opcua.users import hash_password

        env["DEMO_UA_PASSWORD_HASH"] = hash_password("example-password")
    return env


def test_there_are_examples_for_every_protocol_and_the_demo() -> None:
    names = {p.relative_to(ROOT / "examples").as_posix() for p in EXAMPLES}
    assert {"demo/plant.yaml", "modbus.yaml", "opcua.yaml", "mqtt.yaml", "profiles.yaml"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_example_loads_and_passes_the_shapes(path: Path) -> None:
    model = load_mappings([path], env=_env_for(path.read_text()))
    assert model.points, f"{path.name} defines no points"
    errors = check_model(model)
    assert not errors, "\n".join(str(e) for e in errors)


@pytest.mark.parametrize(
    "path", [p for p in EXAMPLES if REQUIRED_VAR.search(p.read_text())], ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_example_without_its_required_variables_is_refused_by_name(path: Path) -> None:
    names = REQUIRED_VAR.findall(path.read_text())
    with pytest.raises(ConfigErrors) as exc:
        load_mappings([path], env={})
    message = str(exc.value)
    assert path.name in message and names[0] in message
