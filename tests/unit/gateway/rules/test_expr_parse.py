"""The expression parser: precedence, tokens, and syntax errors with the position of the problem."""

from __future__ import annotations

import pytest

from gateway.rules import expr_parse as p
from gateway.rules.expr import ExprError


def test_precedence_follows_arithmetic() -> None:
    tree = p.parse("a + b * c ^ 2")
    assert isinstance(tree, p.Binary) and tree.op == "+"
    assert isinstance(tree.right, p.Binary) and tree.right.op == "*"
    assert isinstance(tree.right.right, p.Binary) and tree.right.right.op == "^"


def test_unary_minus_binds_looser_than_power_and_power_is_right_associative() -> None:
    tree = p.parse("-2^3^2")
    assert isinstance(tree, p.Unary) and tree.op == "-"
    power = tree.operand
    assert isinstance(power, p.Binary) and power.op == "^"
    assert isinstance(power.right, p.Binary) and power.right.op == "^"


def test_logic_is_looser_than_comparisons() -> None:
    tree = p.parse("not a > 1 and b or c")
    assert isinstance(tree, p.Binary) and tree.op == "or"
    assert isinstance(tree.left, p.Binary) and tree.left.op == "and"
    assert isinstance(tree.left.left, p.Unary) and tree.left.left.op == "not"


def test_tokens_numbers_units_durations_and_references() -> None:
    tree = p.parse("1.5e3 [KiloW-HR/(M3*K)] * avg(boiler2.flow, 15min) + {hall-2.meter-7.power}")
    assert isinstance(tree, p.Binary)
    mul, braced = tree.left, tree.right
    assert braced == p.Ref(53, "hall-2.meter-7.power", bare=False)
    assert isinstance(mul, p.Binary)
    assert mul.left == p.Num(0, 1500.0, "KiloW-HR/(M3*K)", 7)
    call = mul.right
    assert isinstance(call, p.Call) and call.name == "avg"
    assert call.args == (p.Ref(30, "boiler2.flow", bare=False), p.Duration(44, 900.0, "15min"))


@pytest.mark.parametrize(
    ("text", "seconds"), [("500ms", 0.5), ("30s", 30.0), ("15min", 900.0), ("1h", 3600.0), ("2d", 172800.0)]
)
def test_durations(text: str, seconds: float) -> None:
    tree = p.parse(f"avg(x, {text})")
    assert isinstance(tree, p.Call)
    assert tree.args[1] == p.Duration(7, seconds, text)


def test_a_bare_name_is_a_sibling_and_true_false_are_booleans() -> None:
    assert p.parse("flow") == p.Ref(0, "flow", bare=True)
    assert p.parse("true") == p.Bool(0, True)
    assert p.parse("false") == p.Bool(0, False)


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("(flow * 2", "expected ')' (the expression ends here)", 9),
        ("flow * (supply_temp - return_temp", "expected ')' (the expression ends here)", 33),
        ("max(a, b", "expected ')' (the expression ends here)", 8),
        ("flow +", "the expression ends too early: expected a number, a point or '('", 6),
        ("flow flow", "unexpected 'flow': expected an operator or the end", 5),
        ("", "empty expression", 0),
        ("a ** 2", "unexpected '**': use ^ for a power", 2),
        ("a = 2", "unexpected '=': use == to compare", 2),
        ("a && b", "unexpected '&&': use and", 2),
        ("!a", "unexpected '!': use not", 0),
        ("a < b < c", "comparisons do not chain: write a < b and b < c", 6),
        ("3x", "'3x': unknown duration unit 'x'", 1),
        ("1 [kW", "'[' is never closed: expected ']'", 2),
        ("{a.b", "'{' is never closed: expected '}'", 0),
        ("a $ b", "unexpected character '$'", 2),
        ("foo(1)", "unknown function 'foo'", 0),
        ("[kW] * 2", "a unit [...] follows a number: write 1 [kW]", 0),
        ("and b", "'and' needs an operand before it", 0),
        ("a + )", "unexpected ')': expected a number, a point or '('", 4),
    ],
)
def test_syntax_errors_say_what_and_where(text: str, message: str, position: int) -> None:
    with pytest.raises(ExprError) as err:
        p.parse(text)
    assert err.value.message.startswith(message)
    assert err.value.position == position
    assert str(err.value) == f"{err.value.message} at {position}"


def test_the_parser_never_evaluates_python() -> None:
    with pytest.raises(ExprError):
        p.parse("__import__('os').system('true')")
