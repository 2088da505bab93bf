"""The ``twinbridge`` command: run, validate, graph, and the tools (discover, trust, hash, anomaly replay)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gateway import __version__
from gateway.analytics.anomaly import cli as anomaly_cli
from gateway.config.errors import ConfigError, ConfigErrors
from gateway.northbound import credentials
from gateway.northbound.opcua import trust_cli

if TYPE_CHECKING:
    from gateway.model import TwinModel

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sim-plant.yaml"
LOG_LEVELS = ["debug", "info", "warning", "error"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="twinbridge",
        description="Normalize OPC UA, Modbus and MQTT devices into one "
        "live RDF twin, served over OPC UA and SPARQL/REST.",
    )
    p.add_argument("--version", action="version", version=f"twinbridge {__version__}")
    p.add_argument("--log-level", default="info", choices=LOG_LEVELS, help="logging verbosity (default: info)")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start adapters, the twin and the northbound services")
    run.add_argument(
        "mappings", nargs="*", type=Path, help=f"mapping files (default: {_shown(EXAMPLE)}, simulated devices only)"
    )
    run.add_argument("--no-services", action="store_true", help="do not start the OPC UA server and HTTP API")
    val = sub.add_parser("validate", help="check mapping files; report every error with file:line:column")
    val.add_argument("mappings", nargs="+", type=Path)
    val.add_argument("--no-shacl", action="store_true", help="skip the SHACL check of the materialized twin")
    val.add_argument(
        "--allow-missing-env",
        action="store_true",
        help="check without the secrets: an unset ${VAR} is a note and a placeholder stands in for it",
    )
    g = sub.add_parser("graph", help="print the materialized twin")
    g.add_argument("mappings", nargs="+", type=Path)
    g.add_argument("--format", default="turtle", choices=["turtle", "nt", "jsonld", "nquads"])
    g.add_argument(
        "--graph",
        default="model",
        choices=["model", "ontology", "live", "all"],
        help="which graph to print (default: model)",
    )
    demo = sub.add_parser("demo", help="run a simulated plant (Modbus PLC, OPC UA machine, MQTT sensors) + gateway")
    for name, default in (("http", 8000), ("opcua", 4840), ("modbus", 5020), ("machine", 4841), ("mqtt", 1884)):
        demo.add_argument(f"--{name}-port", type=int, default=default, help=f"default {default}")
    demo.add_argument(
        "--mqtt-url",
        help="the sensors' broker as mqtt://host:port (default: 127.0.0.1 on --mqtt-port, embedded when none listens)",
    )
    demo.add_argument(
        "--broker",
        choices=["auto", "mosquitto", "amqtt"],
        default="auto",
        help="embedded MQTT broker when none listens on the MQTT port (auto: mosquitto if installed, else amqtt)",
    )
    d = sub.add_parser("discover", help="browse a device into a draft mapping (opcua, or any adapter offering it)")
    # no choices: the kinds offering discovery come from the adapter registry, read only when the command runs
    d.add_argument("kind", help="the kind of source to browse, e.g. opcua")
    d.add_argument("args", nargs=argparse.REMAINDER, help="the discoverer's own arguments (try: discover opcua -h)")
    trust_cli.add_parser(sub)
    credentials.add_parser(sub)
    anomaly_cli.add_parser(sub)
    # --log-level after the command too; SUPPRESS keeps the value given before it when not repeated after it
    for cmd in sub.choices.values():
        cmd.add_argument("--log-level", choices=LOG_LEVELS, default=argparse.SUPPRESS, help="as before the command")
    return p


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when under it (examples/sim-plant.yaml in a checkout)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# Libraries whose own logs are too chatty or unsafe below WARNING (asyncua logs whole requests, passwords
# included, at DEBUG and every publish at INFO).
_QUIET_LOGGERS = ("asyncua", "pymodbus", "aiomqtt", "uvicorn.access", "httpx", "httpcore")


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _load(files: Sequence[Path], notes: list[ConfigError] | None = None) -> TwinModel | None:
    """The validated model, or None after printing every error (unset ``${VAR}``s go to ``notes`` if given)."""
    from gateway.config.loader import load_mappings

    try:
        return load_mappings(files, notes=notes)
    except ConfigErrors as exc:
        for e in exc.errors:
            print(e, file=sys.stderr)
        print(f"{len(exc.errors)} error(s); nothing started", file=sys.stderr)
        return None


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate mappings, then check the materialized twin against the SHACL shapes."""
    notes: list[ConfigError] | None = [] if args.allow_missing_env else None
    model = _load(args.mappings, notes)
    for note in notes or []:
        print(note, file=sys.stderr)
    if model is None:
        return 1
    if not args.no_shacl:
        from gateway.shacl import check_model

        problems = check_model(model)
        if problems:
            for e in problems:
                print(e, file=sys.stderr)
            print(f"{len(problems)} shape violation(s)", file=sys.stderr)
            return 1
    print(
        f"ok: {len(model.sources)} sources, {len(model.assets)} assets, {len(model.points)} points "
        f"in {len(model.files)} file(s)"
    )
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    """Print the materialized twin (the live graph from the on-disk store when there is one)."""
    from gateway.classes import PREFIXES
    from gateway.twin.export import StoreInUse, graph_bytes

    model = _load(args.mappings)
    if model is None:
        return 1
    try:
        data = graph_bytes(model, args.graph, args.format, PREFIXES, note=lambda m: print(m, file=sys.stderr))
    except StoreInUse as exc:
        print(f"twinbridge graph: {exc}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
    return 0


async def _run(files: Sequence[Path], services: bool) -> int:
    from gateway.runtime import Gateway

    log = logging.getLogger("twinbridge")
    gateway = Gateway.from_files(files)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await gateway.start(services=services)
    for line in gateway.summary():
        log.info("%s", line)
    log.info("twinbridge running; Ctrl-C to stop")
    await stop.wait()
    log.info("shutting down")
    await gateway.stop()
    log.info("stopped")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the gateway until SIGINT/SIGTERM."""
    files = list(args.mappings) or [EXAMPLE]
    try:
        return asyncio.run(_run(files, not args.no_services))
    except ConfigErrors as exc:
        for e in exc.errors:
            print(e, file=sys.stderr)
        print(f"{len(exc.errors)} error(s); nothing started", file=sys.stderr)
        return 1


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the demo plant until SIGINT/SIGTERM."""
    from gateway.demo_plant.runner import Ports, run_demo

    ports = Ports(args.http_port, args.opcua_port, args.modbus_port, args.machine_port, args.mqtt_port)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        return await run_demo(ports, stop, broker=args.broker, mqtt_url=args.mqtt_url)

    return asyncio.run(main())


def cmd_discover(args: argparse.Namespace) -> int:
    """Browse a device and print a draft mapping, with the discovery command of the kind's adapter."""
    from adapters.registry import UnknownAdapter, get_discovery
    from gateway.units import CATALOG

    try:
        command = get_discovery(args.kind)
    except UnknownAdapter as exc:
        print(f"twinbridge discover: {exc}", file=sys.stderr)
        return 2
    return command(list(args.args), CATALOG)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``twinbridge`` console script."""
    args = _parser().parse_args(argv)
    _setup_logging(args.log_level)
    handler = {
        "run": cmd_run,
        "validate": cmd_validate,
        "graph": cmd_graph,
        "discover": cmd_discover,
        "demo": cmd_demo,
        "trust": trust_cli.cmd_trust,
        "hash": credentials.cmd_hash,
        "anomaly": anomaly_cli.cmd_anomaly,
    }[args.command]
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
