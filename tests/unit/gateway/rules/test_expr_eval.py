"""Evaluating compiled expressions: logic, functions, window keys, inputs, references and run-time errors."""

from __future__ import annotations

import math

import pytest

from adapters.contract.model import DataType
from gateway.rules.expr import ExprError, MissingValue, WindowKey
from tests.unit.gateway.rules.expr_harness import Compile, FakeEnv

BOOL = DataType.BOOL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("supply_temp > return_temp", True),
        ("supply_temp <= return_temp", False),
        ("supply_temp == 80", True),
        ("supply_temp != 80", False),
        ("pump_on == true", True),
        ("pump_on != true", False),
        ("true == pump_on", True),
        ("pump_on", True),
        ("not pump_on", False),
        ("pump_on and flow > 20", False),
        ("pump_on or flow > 20", True),
        ("not (flow > 20) and pump_on", True),
        ("if(pump_on, flow > 5, false)", True),
        ("if(flow > 20, true, pump_on == false)", False),
    ],
)
def test_booleans(compile_: Compile, env: FakeEnv, text: str, expected: bool) -> None:
    assert compile_(text, None, BOOL).evaluate(env) is expected


def test_logic_short_circuits_like_python(compile_: Compile, env: FakeEnv) -> None:
    del env.values["boiler1.flow"]
    assert compile_("not pump_on and flow > 1", None, BOOL).evaluate(env) is False
    with pytest.raises(MissingValue):
        compile_("pump_on and flow > 1", None, BOOL).evaluate(env)


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("if(pump_on, burner_power, 0)", "KiloW", 250.0),
        ("if(not pump_on, burner_power, aux_power)", "KiloW", 1.5),
        ("min(burner_power, aux_power)", "W", 1500.0),
        ("max(burner_power, aux_power, 300 [kW])", "KiloW", 300.0),
        ("min(3, 1, 2)", None, 1.0),
        ("max(-aux_power, -2000)", "W", -1500.0),
        ("abs(return_temp - supply_temp)", "K", 20.0),
        ("abs(-aux_power)", "W", 1500.0),
        ("round(aux_power / 7)", "W", 214.0),
        ("round(aux_power / 7, 2)", "W", 214.29),
        ("round(aux_power, -3)", "W", 2000.0),
        ("round(aux_power * 2, -3)", "W", 3000.0),
        ("round(burner_power / 3, 1)", "W", 83300.0),
        ("sqrt(16)", None, 4.0),
        ("sqrt(flow * flow)", "M3-PER-HR", 10.0),
        ("flow % 3", "M3-PER-HR", 1.0),
        ("-flow * 2", "M3-PER-HR", -20.0),
        ("2 ^ 10", None, 1024.0),
        ("-2 ^ 2", None, -4.0),
        ("2 ^ -1", None, 0.5),
        ("(1 + 2) * 3", None, 9.0),
        ("10 - 4 - 3", None, 3.0),
        ("12 / 2 / 3", None, 2.0),
        ("count * 2", None, 14.0),
        ("boiler2.flow", "M3-PER-HR", 3.6),
        ("{hall-2.meter-7.power} + burner_power", "KiloW", 253.0),
        ("{boiler1.flow}", "M3-PER-HR", 10.0),
        ("site_power + burner_power", "KiloW", 255.0),  # no sibling site_power: the point with that id
    ],
)
def test_arithmetic_and_functions(
    compile_: Compile, env: FakeEnv, text: str, unit: str | None, expected: float
) -> None:
    assert compile_(text, unit).evaluate(env) == pytest.approx(expected)


def test_integer_points_get_a_rounded_integer(compile_: Compile, env: FakeEnv) -> None:
    value = compile_("aux_power / 1000 [W]", None, DataType.INT32).evaluate(env)
    assert value == 2 and isinstance(value, int)


def test_inputs_are_collected_in_order_without_duplicates(compile_: Compile) -> None:
    c = compile_("flow * (supply_temp - return_temp) * 1.163 [KiloW-HR/(M3*K)] + 0 [kW] * flow / flow", "KiloW")
    assert c.inputs == ("boiler1.flow", "boiler1.supply_temp", "boiler1.return_temp")
    assert c.windows == ()
    assert c.target == "boiler1.result" and c.unit == "KiloW"
    assert c.text.startswith("flow *")


def test_window_keys_are_collected_and_read(compile_: Compile, env: FakeEnv) -> None:
    c = compile_(
        "avg(burner_power, 15min) + max(aux_power, 1h) - min(aux_power, 1h) + delta(burner_power, 2d)", "KiloW"
    )
    assert c.windows == (
        WindowKey("avg", "boiler1.burner_power", 900.0),
        WindowKey("max", "boiler1.aux_power", 3600.0),
        WindowKey("min", "boiler1.aux_power", 3600.0),
        WindowKey("delta", "boiler1.burner_power", 172800.0),
    )
    assert c.inputs == ("boiler1.burner_power", "boiler1.aux_power")
    env.windows = dict.fromkeys(c.windows, 100.0)
    # 100 kW + 100 W - 100 W + 100 kW
    assert c.evaluate(env) == pytest.approx(200.0)
    assert env.reads == list(c.windows)


def test_rate_integral_and_last_change_keys(compile_: Compile, env: FakeEnv) -> None:
    rate = compile_("rate(supply_temp) * 60 [SEC]", "K")
    assert rate.windows == (WindowKey("rate", "boiler1.supply_temp", None),)
    env.windows = {rate.windows[0]: 0.5}  # °C per second
    assert rate.evaluate(env) == pytest.approx(30.0)
    total = compile_("integral(burner_power)", "KiloW-HR")
    assert total.windows == (WindowKey("integral", "boiler1.burner_power", None),)
    env.windows = {total.windows[0]: 7200.0}  # kW·s
    assert total.evaluate(env) == pytest.approx(2.0)
    assert compile_("integral(flow, 1d)", "M3").windows == (WindowKey("integral", "boiler1.flow", 86400.0),)
    assert compile_("rate(flow, 30s)", "M3-PER-SEC2").windows == (WindowKey("rate", "boiler1.flow", 30.0),)
    idle = compile_("last_change(pump_on) > 10 [MIN]", None, BOOL)
    assert idle.windows == (WindowKey("last_change", "boiler1.pump_on", None),)
    env.windows = {idle.windows[0]: 601.0}
    assert idle.evaluate(env) is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("avg(flow * 2, 1h)", "avg() works over a point's past values"),
        ("avg(flow)", "avg() takes avg(point, 15min); got 1 argument(s)"),
        ("avg(flow, 5)", "the window of avg() is a duration"),
        ("delta(flow)", "delta() takes delta(point, 1h)"),
        ("avg(pump_on, 1h)", "avg() needs a numeric point, 'pump_on' is bool"),
        ("flow + 30s", "a duration (30s) is only allowed as a window argument"),
        ("min(flow)", "min() takes min(a, b, ...)"),
        ("round(flow, 1.5)", "round(x, digits): digits must be a whole number"),
        ("if(flow, 1, 2)", "'if' needs true/false"),
        ("if(pump_on, flow, pump_on)", "if(c, a, b): a and b must both be true/false or both numbers"),
        ("abs(1, 2)", "abs() takes abs(x); got 2 argument(s)"),
        ("pump_on + 1", "'+' needs a number, this operand is a boolean"),
        ("pump_on > true", "'>' needs numbers; booleans compare with == or !="),
        ("pump_on == 1", "cannot compare a boolean with a plain number"),
        ("flow and pump_on", "'and' needs true/false"),
        ("label * 2", "'label' is a string point"),
        ("result + 1", "'result' is the point this expression computes"),
        ("1 / (2 - 2)", "division by zero"),
        ("sqrt(-1)", "math domain error in a constant part of the expression"),
        ("flow / 0", "division by zero"),
    ],
)
def test_bad_expressions(compile_: Compile, text: str, message: str) -> None:
    with pytest.raises(ExprError) as err:
        compile_(text, "M3-PER-HR")
    assert err.value.message.startswith(message)
    assert err.value.position is not None and 0 <= err.value.position < len(text)


def test_unknown_points_get_suggestions(compile_: Compile) -> None:
    with pytest.raises(ExprError) as err:
        compile_("flow + suply_temp * 0", "M3-PER-HR")
    assert err.value.message == (
        "no point 'suply_temp' on asset 'boiler1' (did you mean supply_temp?); "
        "write a sibling's name, asset.point, or {point-id}"
    )
    assert err.value.position == 7
    with pytest.raises(ExprError, match=r"unknown point 'boiler3\.flow' \(did you mean boiler2\.flow, boiler1\.flow"):
        compile_("boiler3.flow", "M3-PER-HR")
    with pytest.raises(ExprError, match=r"did you mean \{hall-2\.meter-7\.power\}"):
        compile_("{hall-2.meter-7.powr}", "KiloW")


def test_targets_must_match_boolean_or_number(compile_: Compile) -> None:
    with pytest.raises(ExprError, match="the point is boolean but the expression gives M3-PER-HR"):
        compile_("flow", None, BOOL)
    with pytest.raises(ExprError, match="the expression gives true/false but the point is numeric"):
        compile_("flow > 1", None)
    with pytest.raises(ExprError, match="a derived point computes a number or a boolean"):
        compile_("flow", None, DataType.STRING)


@pytest.mark.parametrize(
    ("text", "unit", "error"),
    [
        ("flow / (supply_temp - return_temp - 20)", "M3-PER-HR-K", ZeroDivisionError),
        ("flow % (flow - 10)", "M3-PER-HR", ZeroDivisionError),
        ("zero ^ -1", None, ValueError),
        ("sqrt(zero - 1)", None, ValueError),
        ("(count * 1000) ^ 200", None, OverflowError),
    ],
)
def test_runtime_errors_raise_for_the_engine(
    compile_: Compile, env: FakeEnv, text: str, unit: str | None, error: type
) -> None:
    c = compile_(text, unit)
    with pytest.raises(error):
        c.evaluate(env)
    assert issubclass(error, ArithmeticError | ValueError)


def test_a_non_finite_result_is_an_error(compile_: Compile, env: FakeEnv) -> None:
    env.values["boiler1.flow"] = math.inf
    with pytest.raises(ValueError, match="not a finite number"):
        compile_("flow * 2", "M3-PER-HR").evaluate(env)


def test_a_missing_input_propagates(compile_: Compile, env: FakeEnv) -> None:
    c = compile_("flow * 2", "M3-PER-HR")
    del env.values["boiler1.flow"]
    with pytest.raises(MissingValue):
        c.evaluate(env)


def test_constants_are_folded(compile_: Compile) -> None:
    c = compile_("(1 + 2) * 3 [kW] + 4 [W] * 250", "KiloW")
    assert c.inputs == () and c.evaluate(None) == pytest.approx(10.0)  # type: ignore[arg-type]
