"""UNS topics: the template (``{prefix}/{site}/{area}/{line}/{equipment}/{point}``) rendered for points and assets,
and the table that finds two things on one topic.

An asset's place in the hierarchy gives the levels: every asset from the root down to the point's own asset adds
its id to the level of its kind (site, area, line, equipment), nested ones joined by ``/`` (a pump inside a
skid: ``skid1/pump1``). Levels a point does not have (no line) are dropped, never left empty (``a//b``). An id
is one topic level: ``+``, ``#`` and ``/`` (wildcards and the separator) become ``_`` and an empty one ``_``, so a
topic is always a valid MQTT topic name and the same id always gives the same level.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from adapters.contract.model import AssetLevel, Point

if TYPE_CHECKING:
    from gateway.model import TwinModel

LEVELS = ("prefix", "site", "area", "line", "equipment", "asset", "point")
META = "_meta"
SET = "set"
RESULT = "result"
_NOT_IN_A_LEVEL = str.maketrans({"+": "_", "#": "_", "/": "_", "\0": "_"})

# One level of the template: literal text and fields, in order ("{site}-x" -> [("", "site"), ("-x", None)]).
_Part = tuple[str, str | None]


class TemplateError(ValueError):
    """A topic template or prefix that cannot make topics: the message says what to write."""


def level_text(ident: str) -> str:
    """An id as one topic level: wildcards and ``/`` become ``_``; an empty id is ``_``."""
    return ident.translate(_NOT_IN_A_LEVEL) or "_"


def check_prefix(prefix: str) -> str:
    """The prefix as topic levels (empty levels dropped); ``TemplateError`` for wildcards or a ``$`` topic."""
    if any(c in prefix for c in "+#\0"):
        raise TemplateError(f"prefix '{prefix}' contains + or #, which only subscriptions may use")
    if prefix.startswith("$"):
        raise TemplateError(f"prefix '{prefix}' starts with $, which brokers reserve ($SYS)")
    return "/".join(level for level in prefix.split("/") if level)


@dataclass(frozen=True)
class TopicTemplate:
    """A parsed topic template."""

    text: str
    levels: tuple[tuple[_Part, ...], ...]

    @classmethod
    def parse(cls, text: str) -> TopicTemplate:
        """Parse ``text``; ``TemplateError`` names an unknown level or a character a topic may not have."""
        if text.startswith("$"):
            raise TemplateError(f"topic '{text}' starts with $, which brokers reserve ($SYS)")
        levels = []
        for raw in text.split("/"):
            try:
                parsed = list(string.Formatter().parse(raw))
            except ValueError as exc:
                hint = "write levels as {site}; a literal brace is {{"
                raise TemplateError(f"topic '{text}': {exc} ({hint})") from None
            parts: list[_Part] = []
            for literal, name, spec, conversion in parsed:
                if any(c in literal for c in "+#\0"):
                    raise TemplateError(f"topic '{text}' contains + or #, which only subscriptions may use")
                if name is not None and (name not in LEVELS or spec or conversion):
                    raise TemplateError(
                        f"topic '{text}' names {{{name}{'!' + conversion if conversion else ''}"
                        f"{':' + spec if spec else ''}}}, which is no level: use "
                        + ", ".join("{" + n + "}" for n in LEVELS)
                    )
                parts.append((literal, name))
            levels.append(tuple(parts))
        return cls(text, tuple(levels))

    def render(self, values: Mapping[str, str]) -> str:
        """The topic with these level values (already topic text; ``/`` inside one makes several levels); empty
        levels are dropped."""
        out: list[str] = []
        for level in self.levels:
            text = "".join(lit + (values.get(name, "") if name else "") for lit, name in level)
            out.extend(part for part in text.split("/") if part)
        return "/".join(out)


@dataclass(frozen=True)
class Collision:
    """Two things that would publish on one topic: ``first`` keeps it, ``second`` is left out."""

    topic: str
    first: str
    second: str
    meta: bool = False  # the second is an asset's metadata

    def __str__(self) -> str:
        return f"{self.first} and {self.second} would both publish on '{self.topic}'"


@dataclass
class Namespace:
    """The topics of one UNS: each point's, its command topics and each asset's ``_meta``, with their owners."""

    template: TopicTemplate
    prefix: str
    model: TwinModel
    meta: bool = True
    commands: bool = False
    point_topics: dict[str, str] = field(default_factory=dict, init=False)  # point id -> topic
    meta_topics: dict[str, str] = field(default_factory=dict, init=False)  # asset id -> its _meta topic
    owners: dict[str, str] = field(default_factory=dict, init=False)  # topic -> who publishes (or listens) there
    _levels: dict[str, dict[str, str]] = field(default_factory=dict, init=False)  # asset id -> its level values

    def asset_levels(self, asset_id: str) -> dict[str, str]:
        """The level values of an asset (``site``... ``equipment``, ``asset``), cached."""
        known = self._levels.get(asset_id)
        if known is not None:
            return known
        assets = self.model.assets
        chain = [assets[asset_id], *self.model.ancestors(asset_id)] if asset_id in assets else []
        by_level: dict[str, list[str]] = {}
        for a in reversed(chain):  # root first
            by_level.setdefault(AssetLevel(a.level).value, []).append(level_text(a.id))
        values = {level: "/".join(ids) for level, ids in by_level.items()}
        values["prefix"] = self.prefix
        values["asset"] = level_text(asset_id)
        self._levels[asset_id] = values
        return values

    def point_topic(self, point: Point) -> str:
        """The topic of a point's values."""
        return self.template.render({**self.asset_levels(point.asset), "point": level_text(point.local_id)})

    def asset_topic(self, asset_id: str) -> str:
        """The topic an asset's own levels make (the template without ``{point}``): its ``_meta`` is below it."""
        return self.template.render(self.asset_levels(asset_id))

    def head(self) -> str:
        """The leading levels every topic has (the template's literal levels and the prefix before any other
        level): command subscriptions are filters below it."""
        fixed = []
        for level in self.template.levels:
            if any(name not in (None, "prefix") for _, name in level):
                break
            fixed.append(level)
        return TopicTemplate(self.template.text, tuple(fixed)).render({"prefix": self.prefix})

    def add_point(self, point: Point) -> tuple[bool, list[Collision]]:
        """Claim a point's topics (and its assets' ``_meta``): whether the point got its topic, and what collided.

        A point whose topic (or command topic) is taken is left out; an asset whose ``_meta`` topic is taken keeps
        its points but publishes no metadata."""
        if point.id in self.point_topics:
            return True, []
        topic = self.point_topic(point)
        mine = [(topic, f"point '{point.id}'")]
        if self.commands:
            mine += [(f"{topic}/{SET}", f"the command topic of point '{point.id}'")]
            mine += [(f"{topic}/{SET}/{RESULT}", f"the command results of point '{point.id}'")]
        taken = [Collision(t, self.owners[t], who) for t, who in mine if t in self.owners]
        if taken:
            return False, taken[:1]  # the first says it: its command topics would collide as well
        for t, who in mine:
            self.owners[t] = who
        self.point_topics[point.id] = topic
        collisions: list[Collision] = []
        if self.meta:
            for asset_id in [point.asset, *(a.id for a in self.model.ancestors(point.asset))]:
                if asset_id not in self.meta_topics and asset_id in self.model.assets:
                    clash = self._claim_meta(asset_id)
                    if clash is not None:
                        collisions.append(clash)
        return True, collisions

    def _claim_meta(self, asset_id: str) -> Collision | None:
        topic = f"{self.asset_topic(asset_id)}/{META}".lstrip("/")
        who = f"the metadata of asset '{asset_id}'"
        if topic in self.owners:
            self.meta_topics[asset_id] = ""  # asked once: its metadata is left out
            return Collision(topic, self.owners[topic], who, meta=True)
        self.owners[topic] = who
        self.meta_topics[asset_id] = topic
        return None
