"""`twinbridge demo` as a user runs it: a process, its printed commands pasted into a shell, Ctrl-C, a taken port."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pymodbus.client import ModbusTcpClient

from tests.e2e.conftest import alive, descendants, free_ports

ROOT = Path(__file__).resolve().parents[2]
PORT_OPTIONS = ["--http-port", "--opcua-port", "--modbus-port", "--machine-port", "--mqtt-port"]


def _demo_cmd(ports: list[int]) -> list[str]:
    cmd = [sys.executable, "-m", "gateway.cli", "demo"]
    for option, port in zip(PORT_OPTIONS, ports, strict=True):
        cmd += [option, str(port)]
    return cmd


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.timeout(90)
def test_demo_command_prints_working_commands_and_ctrl_c_stops_everything() -> None:
    ports = free_ports(5)
    # its own session and process group, as in a terminal: Ctrl-C is SIGINT to the whole foreground group
    proc = subprocess.Popen(
        _demo_cmd(ports),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C stops everything" in line:
                break
        out = "".join(lines)
        assert re.search(r"running \(\d+\.\d s from start to the first answered SPARQL query\)", out), out
        assert f"opc.tcp://127.0.0.1:{ports[1]}/twinbridge" in out and f"http://127.0.0.1:{ports[0]}/docs" in out

        # paste the printed SPARQL curl and the printed setpoint write into a shell
        query_cmd = next(line.strip() for line in lines if line.strip().startswith("curl -s http"))
        r = subprocess.run(["bash", "-c", query_cmd], capture_output=True, text=True, timeout=30, check=True)
        assert r.stdout.startswith("point,value,unit,quality") and "boiler1.supply_temp" in r.stdout, r.stdout
        write_at = next(i for i, line in enumerate(lines) if "curl -s -X PUT" in line)
        write_cmd = lines[write_at] + lines[write_at + 1]
        r = subprocess.run(["bash", "-c", write_cmd], capture_output=True, text=True, timeout=30, check=True)
        assert '"ok":true' in r.stdout.replace(" ", ""), r.stdout
        plc = ModbusTcpClient("127.0.0.1", port=ports[2])
        assert plc.connect()
        try:
            assert plc.read_holding_registers(10, count=1).registers == [650]  # 65 °C x10 in the PLC
        finally:
            plc.close()
        assert httpx.get(f"http://127.0.0.1:{ports[0]}/health", timeout=5).status_code == 200

        helpers = descendants(proc.pid)  # the SPARQL query worker, and mosquitto when installed
        assert helpers, "expected helper processes (the query worker at least)"
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    deadline = time.monotonic() + 5
    while any(alive(p) for p in helpers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in helpers if alive(p)], "stray processes after Ctrl-C"
    assert not [p for p in ports if _listening(p)], "ports still open after Ctrl-C"


@pytest.mark.timeout(60)
def test_ctrl_c_while_starting_stops_what_is_up() -> None:
    ports = free_ports(5)
    proc = subprocess.Popen(
        _demo_cmd(ports),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the devices are up and the gateway is connecting to them
            if "source plc connected" in line:
                break
        helpers = descendants(proc.pid)
        # to the demo process only: the HTTP API's query worker, still importing at this moment, would die of
        # the group's SIGINT before it can ignore it (a Fatal Python error on the terminal; reported)
        os.kill(proc.pid, signal.SIGINT)
        rest = proc.communicate(timeout=30)[0]
        assert proc.returncode == 0, rest
        assert "stopped while starting" in rest and "twinbridge demo is running" not in rest, rest
        assert "Traceback" not in rest, rest
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert not [p for p in helpers if alive(p)], "stray processes after Ctrl-C while starting"
    assert not [p for p in ports if _listening(p)]


def test_taken_port_is_named_with_its_option_and_nothing_is_left_running() -> None:
    ports = free_ports(5)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", ports[1]))
        busy.listen()
        r = subprocess.run(_demo_cmd(ports), cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"port {ports[1]} (opcua) is already in use" in r.stdout and "--opcua-port" in r.stdout, r.stdout
    assert "Traceback" not in r.stdout + r.stderr
    assert not [p for p in ports if _listening(p)]
