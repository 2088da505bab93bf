"""Pure helpers of the OPC UA server: UNECE UnitIds, EUInformation, password hashes, config checks."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from pydantic import ValidationError

from gateway import units
from gateway.northbound.credentials import check_password, hash_password
from gateway.northbound.http.config import TokenSpec
from gateway.northbound.opcua.address_space import UNECE_NAMESPACE, eu_information, unece_unit_id
from gateway.northbound.opcua.config import OpcUaServerConfig
from gateway.northbound.roles import allows


@pytest.mark.parametrize(
    ("code", "unit_id"),
    [("CEL", 4408652), ("KEL", 4932940), ("C62", 4404786), ("M", 77), ("KWH", 4937544)],
)
def test_unece_unit_id_packs_ascii_as_in_part_8(code: str, unit_id: int) -> None:
    # OPC UA Part 8 5.6.3: each character's ASCII code in 8 bits, first character most significant
    assert unece_unit_id(code) == unit_id


def test_eu_information_of_a_qudt_unit() -> None:
    eu = eu_information("DEG_C")
    assert eu is not None
    assert eu.NamespaceUri == UNECE_NAMESPACE
    assert eu.UnitId == unece_unit_id("CEL")
    assert eu.DisplayName.Text == "°C"
    unit = units.get_unit("DEG_C")
    assert unit is not None and eu.Description.Text == unit.label
    assert eu_information("NOT_A_UNIT") is None


def test_password_hash_round_trip_and_salt() -> None:
    h1, h2 = hash_password("s3cret-pass", iterations=1000), hash_password("s3cret-pass", iterations=1000)
    assert h1 != h2  # salted
    assert h1.startswith("pbkdf2_sha256$1000$")
    assert check_password("s3cret-pass", h1) and check_password("s3cret-pass", h2)
    assert not check_password("s3cret-Pass", h1)
    assert "s3cret-pass" not in h1


def test_config_refuses_unknown_policies_and_malformed_hashes() -> None:
    with pytest.raises(ValidationError, match="security"):
        OpcUaServerConfig.model_validate({"security": ["Basic128Rsa15_Sign"]})
    with pytest.raises(ValidationError, match="password_hash"):
        OpcUaServerConfig.model_validate({"users": [{"name": "a", "password_hash": "plaintext"}]})
    with pytest.raises(ValidationError, match="role"):
        OpcUaServerConfig.model_validate(
            {"users": [{"name": "a", "password_hash": hash_password("x" * 8, iterations=10), "role": "root"}]}
        )
    cfg = OpcUaServerConfig()
    assert cfg.security == ["Basic256Sha256_SignAndEncrypt"] and not cfg.allow_anonymous  # secure by default


def test_hash_command_reads_stdin() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "hash", "password"],
        input="long-enough-pw\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert check_password("long-enough-pw", out.stdout.strip())
    short = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "hash", "password"],
        input="short\n",
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert short.returncode == 2 and short.stdout == ""


def test_one_role_vocabulary_and_viewer_still_loads(caplog: pytest.LogCaptureFixture) -> None:
    pw = hash_password("x" * 8, iterations=10)
    users = [{"name": n, "password_hash": pw, "role": r} for n, r in (("wall", "viewer"), ("boss", "admin"))]
    with caplog.at_level(logging.WARNING, "twinbridge.roles"):
        cfg = OpcUaServerConfig.model_validate({"users": users})
    assert [u.role for u in cfg.users] == ["reader", "admin"]  # viewer: the former name of reader
    assert "'viewer' is deprecated" in caplog.text
    assert TokenSpec(name="t", role="admin", token="t" * 16).role == "admin"
    assert allows("admin", "operator") and allows("operator", "reader") and not allows("reader", "operator")
