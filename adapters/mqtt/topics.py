"""MQTT topic filters and the topic templates of rules (pure functions, no I/O).

A rule's topic template is a topic filter whose single-level wildcards have names: ``plant/{area}/{sensor}/data``
subscribes to ``plant/+/+/data`` and binds ``area`` and ``sensor`` to the matching segments of every message.
A bare ``+`` matches one segment without binding it and a final ``#`` matches any rest. Id templates
(``asset: "{area}-{sensor}"``) are then filled with the bindings, and the result is made a valid id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_VAR = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ID_BAD = re.compile(r"[^A-Za-z0-9_-]+")


class TopicError(ValueError):
    """A topic, filter or template that MQTT (or twinbridge) does not accept."""


def check_topic(topic: str) -> str:
    """A concrete topic name (no wildcards) as MQTT requires it; raise ``TopicError`` otherwise."""
    if not topic:
        raise TopicError("a topic cannot be empty")
    if "+" in topic or "#" in topic:
        raise TopicError(f"'{topic}' contains a wildcard (+ or #); a point needs one concrete topic")
    if "\x00" in topic or len(topic.encode()) > 65535:
        raise TopicError("a topic cannot contain NUL or be longer than 65535 bytes")
    return topic


def check_filter(topic_filter: str) -> str:
    """A valid MQTT topic filter: ``+`` alone in its level, ``#`` alone and last."""
    if not topic_filter:
        raise TopicError("a topic filter cannot be empty")
    levels = topic_filter.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise TopicError(f"'{topic_filter}': '#' must be a whole level and the last one")
        if "+" in level and level != "+":
            raise TopicError(f"'{topic_filter}': '+' must be a whole level")
    return topic_filter


def filter_covers(wide: str, narrow: str) -> bool:
    """Whether every topic matched by filter ``narrow`` is also matched by filter ``wide``."""
    w, n = wide.split("/"), narrow.split("/")
    for i, level in enumerate(w):
        if level == "#":
            return True
        if i >= len(n) or n[i] == "#":
            return False
        if level != "+" and (n[i] == "+" or n[i] != level):
            return False
    return len(w) == len(n)


@dataclass(frozen=True, slots=True)
class TopicTemplate:
    """A parsed rule topic: the filter to subscribe to and which levels bind which names."""

    text: str
    filter: str
    levels: tuple[str | None, ...]  # per level: a literal, None for '+', or '{name}' kept as the name below
    names: tuple[str | None, ...]  # per level: the bound name, or None
    multi: bool  # ends in '#'

    @classmethod
    def parse(cls, text: str) -> TopicTemplate:
        """Parse ``a/{x}/+/b/#``; names must be unique and whole levels."""
        if not text:
            raise TopicError("a topic template cannot be empty")
        levels: list[str | None] = []
        names: list[str | None] = []
        parts = text.split("/")
        multi = parts[-1] == "#"
        for i, part in enumerate(parts):
            m = _VAR.match(part)
            if m:
                name = m.group(1)
                if name in names:
                    raise TopicError(f"'{text}': {{{name}}} is used twice")
                levels.append(None)
                names.append(name)
                continue
            if "{" in part or "}" in part:
                raise TopicError(f"'{text}': a {{name}} must be a whole topic level (got '{part}')")
            if part == "#" and i != len(parts) - 1:
                raise TopicError(f"'{text}': '#' must be the last level")
            if part == "+":
                levels.append(None)
            else:
                levels.append(part)
            names.append(None)
        if multi:
            levels.pop()
            names.pop()
        flt = "/".join(["+" if lv is None else lv for lv in levels] + (["#"] if multi else []))
        check_filter(flt)
        return cls(text, flt, tuple(levels), tuple(names), multi)

    @property
    def variables(self) -> tuple[str, ...]:
        """The names bound by this template, in order."""
        return tuple(n for n in self.names if n is not None)

    def match(self, topic: str) -> dict[str, str] | None:
        """The bindings of ``topic``, or None when it does not match."""
        parts = topic.split("/")
        n = len(self.levels)
        if len(parts) < n or (len(parts) > n and not self.multi):
            return None
        out: dict[str, str] = {}
        for lit, name, part in zip(self.levels, self.names, parts, strict=False):
            if lit is not None:
                if part != lit:
                    return None
            elif name is not None:
                out[name] = part
        return out

    def format(self, bindings: Mapping[str, str]) -> str:
        """The concrete topic for ``bindings`` (the inverse of ``match``; needs every name, and no '#')."""
        if self.multi:
            raise TopicError(f"'{self.text}' ends in '#': it names no single topic")
        out: list[str] = []
        for lit, name in zip(self.levels, self.names, strict=True):
            if lit is not None:
                out.append(lit)
            elif name is None or name not in bindings:
                raise TopicError(f"'{self.text}': no value for level {len(out) + 1}")
            else:
                out.append(str(bindings[name]))
        return "/".join(out)


def placeholders(template: str) -> set[str]:
    """The ``{name}`` placeholders of an id or text template."""
    return set(_PLACEHOLDER.findall(template))


def fill(template: str, values: Mapping[str, object], *, keep: Iterable[str] = ()) -> str:
    """Fill ``{name}`` placeholders; names in ``keep`` (and unknown names) are left as they are."""
    kept = set(keep)

    def repl(m: re.Match[str]) -> str:
        key = m.group(1)
        if key in kept or key not in values:
            return m.group(0)
        return str(values[key])

    return _PLACEHOLDER.sub(repl, template)


def make_id(text: str) -> str:
    """A valid twinbridge id from free text: runs of other characters become ``_``; at most 128 characters."""
    out = _ID_BAD.sub("_", text).strip("_") or "_"
    return out[:128]
