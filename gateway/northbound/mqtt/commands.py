"""UNS commands: a value published on ``<point topic>/set`` is written through the twin and answered.

The payload is ``{"value": 55.5, "id": "<correlation>"}`` or a bare value (``55.5``, ``true``, ``"auto"``, or
plain text). The twin governs the write as it does REST and OPC UA writes (writable, datatype, min/max, the
device's answer); the channel's ``command_role`` must allow writing. The outcome
``{"point", "ok", "status", "reason", "id", "value"}`` goes to ``<point topic>/set/result``, or with MQTT 5 to
the request's Response Topic with its Correlation Data. A payload that is no command is answered with the reason
(status ``BadDecodingError``), counted, and never applied; so is a retained one (a retained command would be
written again at every reconnect).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.northbound.mqtt.channel import Message, Outbox
from gateway.northbound.roles import allows

if TYPE_CHECKING:
    from gateway.twin.view import TwinView

log = logging.getLogger("twinbridge.mqtt.north")

MALFORMED = "BadDecodingError"
KEYS = ("value", "id")
COUNTERS = ("commands", "commands_ok", "commands_refused", "commands_malformed")
_HELP = 'a command is {"value": <value>, "id": "<correlation>"} or a bare value'


class MalformedCommand(ValueError):
    """A payload that is no command; ``correlation`` is its id when one could be read."""

    def __init__(self, reason: str, correlation: str | int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.correlation = correlation


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command: the value to write and the caller's correlation id."""

    value: Any
    correlation: str | int | None = None


def parse_command(payload: bytes) -> Command:
    """The command in a payload; ``MalformedCommand`` says what is wrong with it."""
    if not payload.strip():
        raise MalformedCommand(f"the payload is empty: {_HELP}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedCommand(f"the payload is not UTF-8 text: {_HELP}") from None
    try:
        doc = json.loads(text)
    except ValueError:
        return Command(text.strip())  # plain text: the twin converts it to the point's datatype or refuses it
    if not isinstance(doc, dict):
        if isinstance(doc, list):
            raise MalformedCommand(f"a list is not a value: {_HELP}")
        return Command(doc)
    correlation = doc.get("id")
    if isinstance(correlation, bool) or not isinstance(correlation, str | int | None):
        raise MalformedCommand(f"id must be a string or a number (got {_short(correlation)})")
    unknown = sorted(set(doc) - set(KEYS))
    if unknown:
        raise MalformedCommand(f"unknown key(s) {', '.join(unknown)}: {_HELP}", correlation)
    if "value" not in doc:
        raise MalformedCommand(f"no value: {_HELP}", correlation)
    value = doc["value"]
    if isinstance(value, dict | list):
        raise MalformedCommand(f"the value must be a number, true/false or text (got {_short(value)})", correlation)
    return Command(value, correlation)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def result_payload(
    point: str | None, ok: bool, status: str, reason: str | None, correlation: str | int | None, value: Any = None
) -> bytes:
    """The JSON answer to a command."""
    doc = {"point": point, "ok": ok, "status": status, "reason": reason, "id": correlation, "value": value}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def reply_to(topic: str, properties: Any) -> tuple[str, Any]:
    """Where the answer goes: the MQTT 5 Response Topic (with the Correlation Data), else ``<topic>/result``."""
    response = getattr(properties, "ResponseTopic", None) if properties is not None else None
    if not response:
        return f"{topic}/result", None
    correlation = getattr(properties, "CorrelationData", None)
    if correlation is None:
        return response, None
    props = Properties(PacketTypes.PUBLISH)
    props.CorrelationData = correlation
    return response, props


class Commands:
    """Writes the commands of one UNS channel: in order per point, each in its own task so a slow device never
    stalls the connection that delivered it."""

    def __init__(self, view: TwinView, *, broker: str, role: str, counters: dict[str, int]) -> None:
        self.view = view
        self.actor = f"mqtt:{broker}"
        self.role = role
        self.counters = counters
        for key in COUNTERS:
            counters.setdefault(key, 0)
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def handle(
        self, point: str | None, topic: str, payload: bytes, properties: Any, out: Outbox, *, retained: bool = False
    ) -> None:
        """A message on ``point``'s command topic ``topic`` (None: a topic no published point has): answer a
        malformed or unknown one now, else write it in a task."""
        self.counters["commands"] += 1
        answer_topic, answer_props = reply_to(topic, properties)

        def answer(ok: bool, status: str, reason: str | None, correlation: str | int | None, value: Any) -> None:
            body = result_payload(point, ok, status, reason, correlation, value)
            out.publish(Message(answer_topic, body, qos=1, retain=False, properties=answer_props))

        try:
            if retained:
                raise MalformedCommand(
                    "a retained command is never applied (it would be written again at every reconnect): publish "
                    "commands with retain false"
                )
            command = parse_command(payload)
        except MalformedCommand as exc:
            self.counters["commands_malformed"] += 1
            log.warning("MQTT command on %s not applied: %s", topic, exc.reason)
            answer(False, MALFORMED, exc.reason, exc.correlation, None)
            return
        if point is None:
            self.counters["commands_refused"] += 1
            reason = f"no published point has the topic {topic.removesuffix('/set')}"
            answer(False, "BadNodeIdUnknown", reason, command.correlation, command.value)
            return
        task = asyncio.get_running_loop().create_task(self._write(point, command, answer), name=f"mqtt-set-{point}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, point: str, command: Command, answer: Callable[..., None]) -> None:
        lock = self._locks.setdefault(point, asyncio.Lock())
        reason: str | None
        async with lock:
            if not allows(self.role, "operator"):
                status, reason = "BadUserAccessDenied", f"role {self.role} may not write (command_role)"
                log.warning("MQTT command to %s refused: %s", point, reason)
            else:
                result = await self.view.write(point, command.value, actor=self.actor)
                status, reason = result.status, result.reason
        ok = status.startswith("Good")
        self.counters["commands_ok" if ok else "commands_refused"] += 1
        answer(ok, status, reason, command.correlation, command.value)

    async def drain(self) -> None:
        """Wait for the writes in flight (tests, orderly stop)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def close(self) -> None:
        """Cancel the writes in flight."""
        for task in list(self._tasks):
            task.cancel()
