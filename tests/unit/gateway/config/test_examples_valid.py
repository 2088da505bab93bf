"""The examples integrators copy: one per protocol plus the demo and a profile mapping exist, and a file whose
required ${VAR} (a secret, a port the runner sets) is not set is refused naming the file and the variable.

That every example loads and passes the SHACL shapes is checked in tests/unit/gateway/test_shapes.py
(test_every_example_and_mapping_conforms); the variables here are derived from the files themselves, so an
example that gains a new required variable needs no edit of this test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.config.errors import ConfigErrors
from gateway.config.loader import load_mappings

ROOT = Path(__file__).resolve().parents[4]
EXAMPLES = sorted((ROOT / "examples").rglob("*.yaml"))
# ${NAME} without a default: a secret or a value the runner sets (the loader refuses the file without it)
REQUIRED_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _env_for(text: str) -> dict[str, str]:
    env = {name: "example-value-of-32-characters-xx" for name in REQUIRED_VAR.findall(text)}
    if "DEMO_UA_PASSWORD_HASH" in env:  # the OPC UA server checks the hash format
        from gateway.northbound.credentials import hash_password

        env["DEMO_UA_PASSWORD_HASH"] = hash_password("example-password")
    return env


def test_there_are_examples_for_every_protocol_and_the_demo() -> None:
    names = {p.relative_to(ROOT / "examples").as_posix() for p in EXAMPLES}
    assert {"demo/plant.yaml", "modbus.yaml", "opcua.yaml", "mqtt.yaml", "profiles.yaml"} <= names


REQUIRING = [p for p in EXAMPLES if REQUIRED_VAR.search(p.read_text())]


@pytest.mark.parametrize("path", REQUIRING, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_each_missing_required_variable_is_refused_by_name(path: Path) -> None:
    env = _env_for(path.read_text())
    model = load_mappings([path], env=env)  # with every variable set, the file loads
    assert model.points or model.settings.remote is not None  # a central view's points come from its store
    for name in env:
        with pytest.raises(ConfigErrors) as exc:
            load_mappings([path], env={k: v for k, v in env.items() if k != name})
        message = str(exc.value)
        assert path.name in message and name in message, message


def test_example_mqtt_sources_pin_a_client_id_only_for_a_persistent_session() -> None:
    # two copies of an example on one broker would take each other's session; the default id is unique per
    # instance, and only a persistent session (clean_session: false) needs an id that stays the same
    for path in EXAMPLES:
        text = path.read_text()
        if "kind: mqtt" not in text:
            continue
        model = load_mappings([path], env=_env_for(text))
        for src in model.sources.values():
            if src.kind == "mqtt" and getattr(src, "client_id", None) is not None:
                assert getattr(src, "clean_session", True) is False, f"{path.name}: {src.id} pins client_id"
