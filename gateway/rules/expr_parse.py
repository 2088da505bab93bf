"""The expression language's tokenizer and parser: text -> a small syntax tree (no eval, no Python ast).

Precedence, loosest first: ``or``, ``and``, ``not``, comparisons (not chained), ``+ -``, ``* / %``, unary ``-``,
``^`` (right-associative, so ``-2^2`` is -4 and ``2^-1`` is 0.5). A unit literal ``[...]`` follows a number;
a duration (``30s``) is a token of its own, allowed only as a window argument (the compiler checks that).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FUNCTIONS = (
    "if",
    "min",
    "max",
    "abs",
    "round",
    "sqrt",
    "avg",
    "rate",
    "integral",
    "delta",
    "last_change",
)
KEYWORDS = ("and", "or", "not", "true", "false")
DURATION_UNITS = {"ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


class ExprError(ValueError):
    """A bad expression: ``message`` says what to change, ``position`` is a 0-based offset into the text."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message if position is None else f"{message} at {position}")
        self.message = message
        self.position = position


@dataclass(frozen=True, slots=True)
class Num:
    pos: int
    value: float
    unit: str | None = None  # the text between [ and ]
    unit_pos: int = 0  # where that text starts


@dataclass(frozen=True, slots=True)
class Duration:
    pos: int
    seconds: float
    text: str


@dataclass(frozen=True, slots=True)
class Bool:
    pos: int
    value: bool


@dataclass(frozen=True, slots=True)
class Ref:
    pos: int
    name: str
    bare: bool  # a sibling point's name (no dot, no braces)


@dataclass(frozen=True, slots=True)
class Unary:
    pos: int
    op: str  # "-", "+", "not"
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    pos: int  # the operator's position
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Call:
    pos: int
    name: str
    args: tuple[Node, ...]


Node = Num | Duration | Bool | Ref | Unary | Binary | Call


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # num, dur, unit, ref, name, op, end
    text: str
    pos: int
    value: float = 0.0


_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SUFFIX = re.compile(r"[A-Za-z_]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")
_OPS = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "^", "(", ")", ",")
_HINTS = {
    "**": "use ^ for a power",
    "=": "use == to compare",
    "&&": "use and",
    "||": "use or",
    "!": "use not",
}


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        m = _NUMBER.match(text, i)
        if m:
            out.append(_number(text, m, out))
            i = m.end()
            if out[-1].kind == "dur":
                i = out[-1].pos + len(out[-1].text)
            continue
        if c in "[{":
            close = "]" if c == "[" else "}"
            end = text.find(close, i + 1)
            if end < 0:
                raise ExprError(f"'{c}' is never closed: expected '{close}'", i)
            inner = text[i + 1 : end]
            if not inner.strip():
                raise ExprError("empty " + ("unit" if c == "[" else "point id") + f" in {c}{close}", i)
            start = i + 1 + len(inner) - len(inner.lstrip()) if c == "[" else i  # a unit's errors point inside
            out.append(Token("unit" if c == "[" else "ref", inner.strip(), start))
            i = end + 1
            continue
        m = _NAME.match(text, i)
        if m:
            out.append(Token("name", m.group(), i))
            i = m.end()
            continue
        for hint, advice in _HINTS.items():
            if text.startswith(hint, i) and not text.startswith(("==", "!="), i):
                raise ExprError(f"unexpected '{hint}': {advice}", i)
        op = next((o for o in _OPS if text.startswith(o, i)), None)
        if op is None:
            raise ExprError(f"unexpected character {c!r}", i)
        out.append(Token("op", op, i))
        i += len(op)
    out.append(Token("end", "", n))
    return out


def _number(text: str, m: re.Match[str], out: list[Token]) -> Token:
    suffix = _SUFFIX.match(text, m.end())
    if suffix is None:
        return Token("num", m.group(), m.start(), float(m.group()))
    unit = suffix.group()
    if unit not in DURATION_UNITS:
        known = ", ".join(DURATION_UNITS)
        raise ExprError(
            f"'{m.group()}{unit}': unknown duration unit '{unit}' (durations: {known}); "
            f"a quantity with a unit is written {m.group()} [{unit}]",
            m.end(),
        )
    return Token("dur", m.group() + unit, m.start(), float(m.group()) * DURATION_UNITS[unit])


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def at(self, *texts: str) -> bool:
        t = self.tok
        return (t.kind in {"op", "name"}) and t.text in texts

    def expect(self, text: str) -> Token:
        if not self.at(text):
            raise ExprError(f"expected '{text}'{self.found()}", self.tok.pos)
        return self.take()

    def found(self) -> str:
        t = self.tok
        return " (the expression ends here)" if t.kind == "end" else f", found '{t.text}'"

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise ExprError("empty expression", 0)
        node = self.or_()
        if self.tok.kind != "end":
            raise ExprError(f"unexpected '{self.tok.text}': expected an operator or the end", self.tok.pos)
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.at("or"):
            t = self.take()
            node = Binary(t.pos, "or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.at("and"):
            t = self.take()
            node = Binary(t.pos, "and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.at("not"):
            t = self.take()
            return Unary(t.pos, "not", self.not_())
        return self.comparison()

    def comparison(self) -> Node:
        node = self.additive()
        if self.tok.kind == "op" and self.tok.text in COMPARISONS:
            t = self.take()
            node = Binary(t.pos, t.text, node, self.additive())
            if self.tok.kind == "op" and self.tok.text in COMPARISONS:
                raise ExprError("comparisons do not chain: write a < b and b < c", self.tok.pos)
        return node

    def additive(self) -> Node:
        node = self.multiplicative()
        while self.at("+", "-"):
            t = self.take()
            node = Binary(t.pos, t.text, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while self.at("*", "/", "%"):
            t = self.take()
            node = Binary(t.pos, t.text, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.at("-", "+"):
            t = self.take()
            return Unary(t.pos, t.text, self.unary())
        return self.power()

    def power(self) -> Node:
        node = self.primary()
        if self.at("^"):
            t = self.take()
            return Binary(t.pos, "^", node, self.unary())
        return node

    def primary(self) -> Node:
        t = self.tok
        if t.kind == "num":
            self.take()
            if self.tok.kind == "unit":
                u = self.take()
                return Num(t.pos, t.value, u.text, u.pos)
            return Num(t.pos, t.value)
        if t.kind == "dur":
            self.take()
            return Duration(t.pos, t.value, t.text)
        if t.kind == "ref":
            self.take()
            return Ref(t.pos, t.text, bare=False)
        if t.kind == "unit":
            raise ExprError("a unit [...] follows a number: write 1 [" + t.text + "]", t.pos - 1)
        if t.kind == "name":
            return self.name()
        if self.at("("):
            self.take()
            node = self.or_()
            self.expect(")")
            return node
        what = "the expression ends too early" if t.kind == "end" else f"unexpected '{t.text}'"
        raise ExprError(f"{what}: expected a number, a point or '('", t.pos)

    def name(self) -> Node:
        t = self.take()
        if t.text in ("true", "false"):
            return Bool(t.pos, t.text == "true")
        if t.text in KEYWORDS:
            raise ExprError(f"'{t.text}' needs an operand before it", t.pos)
        if self.at("("):
            if t.text not in FUNCTIONS:
                raise ExprError(f"unknown function '{t.text}' (functions: {', '.join(FUNCTIONS)})", t.pos)
            self.take()
            args: list[Node] = []
            if not self.at(")"):
                args.append(self.or_())
                while self.at(","):
                    self.take()
                    args.append(self.or_())
            self.expect(")")
            return Call(t.pos, t.text, tuple(args))
        return Ref(t.pos, t.text, bare="." not in t.text)


def start(node: Node) -> int:
    """Where a sub-expression begins (a binary node's ``pos`` is its operator's)."""
    while isinstance(node, Binary):
        node = node.left
    return node.pos


def parse(text: str) -> Node:
    """The syntax tree of an expression; ExprError with the position of the first problem."""
    return _Parser(text).parse()
