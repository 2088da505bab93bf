"""What the northbound MQTT unit tests share: a recording outbox standing in for the broker link, and the
sections and code blocks of docs/mqtt-north.md (whose examples the tests check)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from gateway.northbound.mqtt.channel import Message

DOC = Path(__file__).resolve().parents[5] / "docs" / "mqtt-north.md"


class RecordingOutbox:
    """Records what a channel publishes on the live connection."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.connected = True

    def publish(self, message: Message) -> None:
        self.sent.append(message)

    def take(self) -> list[Message]:
        """What was sent since the last take."""
        out, self.sent = self.sent, []
        return out

    def on(self, topic: str) -> list[dict[str, Any]]:
        """The JSON documents sent on one topic."""
        return [json.loads(m.payload) for m in self.sent if m.topic == topic]


def doc_section(title: str) -> str:
    """The text of one ``## title`` section of docs/mqtt-north.md."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def code_blocks(section: str, lang: str) -> list[str]:
    """The fenced ``lang`` code blocks of a section, in order."""
    return re.findall(rf"^```{lang}\n(.*?)^```", section, re.S | re.M)
