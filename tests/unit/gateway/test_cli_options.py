"""The command line as documented: --log-level before or after the command, `run`'s real default mapping in its
help, `discover` reachable, and the README's command table and demo ports agreeing with the parser."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gateway import cli

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in cli._parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices)


@pytest.mark.parametrize(
    ("argv", "level"),
    [
        (["validate", "x.yaml"], "info"),
        (["--log-level", "error", "validate", "x.yaml"], "error"),
        (["validate", "--log-level", "debug", "x.yaml"], "debug"),
        (["validate", "x.yaml", "--log-level", "warning"], "warning"),
        (["--log-level", "error", "run", "--log-level", "debug"], "debug"),  # the later one wins
        (["demo", "--log-level", "warning"], "warning"),
        (["discover", "--log-level", "debug", "opcua", "opc.tcp://127.0.0.1:4840"], "debug"),
    ],
)
def test_log_level_before_or_after_the_command(argv: list[str], level: str) -> None:
    assert cli._parser().parse_args(argv).log_level == level


def test_every_command_takes_log_level_after_it() -> None:
    for name, parser in _subcommands().items():
        assert "--log-level" in parser.format_help(), name


def test_log_level_after_the_command_sets_the_level_of_a_real_run(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text("sources: [{id: s, kind: sim}]\n", encoding="utf-8")
    code = (
        "import logging, sys; from gateway.cli import main; "
        f"rc = main(['validate', '--no-shacl', {str(mapping)!r}, '--log-level', 'error']); "
        "print(rc, logging.getLevelName(logging.getLogger().level))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split()[-2:] == ["0", "ERROR"], out


def test_run_help_names_the_mapping_run_really_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    help_text = " ".join(_subcommands()["run"].format_help().split())
    assert "examples/sim-plant.yaml" in help_text or str(cli.EXAMPLE) in help_text
    assert "demo" not in help_text
    used: list[list[Path]] = []

    async def fake_run(files: list[Path], services: bool) -> int:
        used.append(list(files))
        return 0

    monkeypatch.setattr(cli, "_run", fake_run)
    assert cli.main(["run", "--log-level", "warning"]) == 0
    assert used == [[cli.EXAMPLE]] and cli.EXAMPLE.is_file()


def test_discover_is_reachable_from_the_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "discover", "opcua", "-h"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "opc.tcp://host:port" in out.stdout and "--depth" in out.stdout


def test_readme_command_table_lists_every_command() -> None:
    table = re.findall(r"^\| `twinbridge (\w+)", README, re.M)
    assert sorted(table) == sorted(_subcommands())
    assert "before or after the command" in README


def test_readme_states_the_demo_port_defaults_the_parser_has() -> None:
    demo = _subcommands()["demo"]
    ports = {a.dest: a.default for a in demo._actions if a.dest.endswith("_port")}
    assert ports["mqtt_port"] == 1884
    for dest, default in ports.items():
        option = "--" + dest.replace("_", "-")
        assert f"`{option} {default}`" in README, option


@pytest.mark.parametrize("kind", ["modbus", "nosuchkind"])
def test_discover_of_a_kind_without_discovery_names_the_kinds_offering_it(
    kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["discover", kind, "tcp://127.0.0.1:502"]) == 2
    err = capsys.readouterr().err
    assert f"no discovery for kind '{kind}' (offered by: opcua" in err
