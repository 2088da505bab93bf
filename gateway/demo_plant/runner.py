"""`twinbridge demo`: the simulated plant plus the gateway on examples/demo/plant.yaml, in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from gateway.config.loader import load_mappings
from gateway.demo_plant.machine import Machine
from gateway.demo_plant.plc import BoilerPlc
from gateway.demo_plant.sensors import (
    BrokerAddress,
    BrokerChoice,
    BrokerUnavailable,
    EmbeddedBroker,
    RoomSensors,
    reachable,
)
from gateway.northbound.credentials import hash_password
from gateway.northbound.opcua.trust import demo_pki_dir
from gateway.runtime import Gateway

DEMO_MAPPING = Path(__file__).resolve().parent.parent.parent / "examples" / "demo" / "plant.yaml"
log = logging.getLogger("twinbridge.demo")

FIRST_QUERY = """PREFIX tb: <https://w3id.org/twinbridge#>
PREFIX qudt: <http://qudt.org/schema/qudt/>
SELECT ?point ?value ?unit ?quality WHERE {
  ?point tb:value ?value ; tb:quality ?quality . OPTIONAL { ?point qudt:hasUnit ?unit }
} ORDER BY ?point"""


@dataclass
class Ports:
    """Where everything listens (all on 127.0.0.1)."""

    http: int = 8000
    opcua: int = 4840
    modbus: int = 5020
    machine: int = 4841
    mqtt: int = 1884


class PortTaken(RuntimeError):
    """A port the demo needs is in use."""


def _check_free(ports: Ports, *, embedded_mqtt: int | None) -> None:
    wanted = {"http": ports.http, "opcua": ports.opcua, "modbus": ports.modbus, "machine": ports.machine}
    if embedded_mqtt is not None:
        wanted["mqtt"] = embedded_mqtt
    for name, port in wanted.items():
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                raise PortTaken(
                    f"port {port} ({name}) is already in use on 127.0.0.1; pick another with --{name}-port"
                ) from None


class Demo:
    """The running demo: devices, broker, gateway."""

    def __init__(
        self,
        ports: Ports,
        *,
        broker: BrokerChoice = "auto",
        mqtt_url: str | None = None,
        pki_dir: Path | None = None,
    ) -> None:
        self.ports = ports
        self.broker_choice: BrokerChoice = broker
        # the sensors' broker: given by URL, else 127.0.0.1 on the MQTT port (embedded there unless one listens)
        self.mqtt = BrokerAddress.parse(mqtt_url) if mqtt_url else BrokerAddress("127.0.0.1", ports.mqtt)
        self.token = secrets.token_urlsafe(18)
        self.password = secrets.token_urlsafe(9)
        self.plc = BoilerPlc(ports.modbus)
        self.machine = Machine(ports.machine)
        self.broker: EmbeddedBroker | None = None
        self.sensors = RoomSensors(self.mqtt.port, host=self.mqtt.host)
        self.gateway: Gateway | None = None
        # kept per user across runs: the server certificate a client trusted, and the clients trusted, stay
        self.pki_dir = pki_dir or demo_pki_dir()
        self.first_answer_s: float | None = None

    def env(self) -> dict[str, str]:
        p = self.ports
        return {
            **os.environ,
            "DEMO_HTTP_PORT": str(p.http),
            "DEMO_UA_PORT": str(p.opcua),
            "DEMO_MODBUS_PORT": str(p.modbus),
            "DEMO_MACHINE_PORT": str(p.machine),
            "DEMO_MQTT_URL": self.mqtt.url,
            "DEMO_TOKEN": self.token,
            "DEMO_UA_PASSWORD_HASH": hash_password(self.password),
            "DEMO_PKI": str(self.pki_dir),
        }

    async def start(self) -> None:
        t0 = time.monotonic()
        mqtt_external = await asyncio.to_thread(reachable, self.mqtt.host, self.mqtt.port)
        if not mqtt_external and not self.mqtt.local:
            raise BrokerUnavailable(f"no MQTT broker answers at {self.mqtt.url} (the embedded one runs on 127.0.0.1)")
        _check_free(self.ports, embedded_mqtt=None if mqtt_external else self.mqtt.port)
        await self.plc.start()
        await self.machine.start()
        if not mqtt_external:
            self.broker = EmbeddedBroker(self.mqtt.port, prefer=self.broker_choice)
            await self.broker.start()
        await self.sensors.start()
        self.gateway = Gateway(load_mappings([DEMO_MAPPING], env=self.env()))
        await self.gateway.start()
        self.first_answer_s = await self._first_answer(t0)

    async def _first_answer(self, t0: float) -> float:
        """Seconds from start to the first SPARQL answer holding a value from every protocol."""
        url = f"http://127.0.0.1:{self.ports.http}/sparql"
        async with httpx.AsyncClient(timeout=10) as c:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    r = await c.get(url, params={"query": FIRST_QUERY})
                    text = r.text
                    if r.status_code == 200 and all(k in text for k in ("boiler1.", "machine1.", "-s1.")):
                        return time.monotonic() - t0
                if time.monotonic() - t0 > 60:
                    raise RuntimeError("the demo twin did not answer with values from all three protocols in 60 s")
                await asyncio.sleep(0.1)

    def banner(self) -> str:
        p = self.ports
        http = f"http://127.0.0.1:{p.http}"
        return f"""
twinbridge demo is running ({self.first_answer_s:.1f} s from start to the first answered SPARQL query)

  Dashboard       {http}/   (look without signing in; sign in with the token below to write and acknowledge)

  OPC UA server   opc.tcp://127.0.0.1:{p.opcua}/twinbridge   (anonymous: browse/read; user 'operator',
                  password '{self.password}' to write; security None or Basic256Sha256 SignAndEncrypt)
                  secure clients: certificates in {self.pki_dir} (kept across runs); a refused one is
                  trusted with `twinbridge trust list --demo`, then `twinbridge trust accept <thumbprint> --demo`
  SPARQL          {http}/sparql
  REST + docs     {http}/docs
  devices         Modbus PLC tcp://127.0.0.1:{p.modbus}, OPC UA machine opc.tcp://127.0.0.1:{p.machine}/machine,
                  MQTT sensors {self.mqtt.url} ({self._broker_text()})
{self._mqtt_text()}
Ask the twin:
  curl -s {http}/sparql -H 'Accept: text/csv' --data-urlencode 'query={" ".join(FIRST_QUERY.split())}'

Write the boiler setpoint (it goes to PLC holding register 10):
  curl -s -X PUT {http}/points/boiler1.setpoint/value -H 'Authorization: Bearer {self.token}' \\
       -H 'Content-Type: application/json' -d '{{"value": 65}}'

Inject a fault in the PLC (0 none, 1 stuck supply sensor, 2 drift, 3 spikes, 4 pump failure) and watch the
alarms fire (docs/analytics.md):
  curl -s -X PUT {http}/points/plc1.fault_injection/value -H 'Authorization: Bearer {self.token}' \\
       -H 'Content-Type: application/json' -d '{{"value": 3}}'
  curl -s {http}/alarms

Ctrl-C stops everything.
"""

    def _north(self) -> list[Any]:
        """The brokers the gateway publishes the twin on, from the loaded mapping."""
        north = self.gateway.model.services.get("mqtt") if self.gateway is not None else None
        return list(north.brokers) if north is not None and north.enabled else []

    def uns_prefixes(self) -> list[tuple[str, str]]:
        """(broker URL, topic prefix) of every UNS the gateway publishes."""
        return [(b.url, b.uns.prefix) for b in self._north() if b.uns is not None and b.uns.enabled]

    def sparkplug_nodes(self) -> list[tuple[str, str, str]]:
        """(broker URL, group, node) of every Sparkplug B edge node the gateway is."""
        return [
            (b.url, b.sparkplug.group, b.sparkplug.node)
            for b in self._north()
            if b.sparkplug is not None and b.sparkplug.enabled
        ]

    def _mqtt_text(self) -> str:
        lines = []
        for url, prefix in self.uns_prefixes():
            where = urlsplit(url)
            lines.append(
                f"  UNS over MQTT   {prefix}/# on {url} (one retained JSON topic per point, _meta per asset)\n"
                f"                  mosquitto_sub -h {where.hostname} -p {where.port or 1883} -t '{prefix}/#' -v\n"
            )
        for url, group, node in self.sparkplug_nodes():
            lines.append(
                f"  Sparkplug B     edge node {group}/{node} on {url} (spBv1.0/{group}/#; a device per asset, births\n"
                "                  on connect and on NCMD Node Control/Rebirth)\n"
            )
        return "".join(lines)

    def _broker_text(self) -> str:
        if self.broker is None:
            return "your broker"
        return "embedded mosquitto" if self.broker.kind == "mosquitto" else "embedded amqtt broker"

    async def stop(self) -> None:
        """Stop the gateway first (no Bad flood from devices going away), then devices and broker."""
        if self.gateway is not None:
            await self.gateway.stop()
        with contextlib.suppress(Exception):
            await self.sensors.stop()
        if self.broker is not None:
            await self.broker.stop()
        with contextlib.suppress(Exception):
            await self.machine.stop()
        with contextlib.suppress(Exception):
            await self.plc.stop()


async def run_demo(
    ports: Ports, stop: asyncio.Event, *, broker: BrokerChoice = "auto", mqtt_url: str | None = None
) -> int:
    """Run until ``stop`` is set; returns an exit code (2: a port is taken or no MQTT broker can run).

    A stop while starting (Ctrl-C during the first seconds) cancels the start-up and stops what is already up.
    """
    try:
        demo = Demo(ports, broker=broker, mqtt_url=mqtt_url)
    except ValueError as exc:
        print(f"twinbridge demo: {exc}")
        return 2
    starting = asyncio.create_task(demo.start(), name="demo-start")
    stopping = asyncio.create_task(stop.wait(), name="demo-stop-wait")
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            log.info("stopped while starting")
            await demo.stop()
            return 0
        starting.result()  # raises what start() raised
    except (PortTaken, BrokerUnavailable) as exc:
        print(f"twinbridge demo: {exc}")
        await demo.stop()
        return 2
    except BaseException:
        starting.cancel()
        await demo.stop()
        raise
    finally:
        stopping.cancel()
    print(demo.banner(), flush=True)
    await stop.wait()
    log.info("stopping the demo")
    await demo.stop()
    return 0
