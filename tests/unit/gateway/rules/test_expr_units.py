"""Dimension analysis and unit conversion of expressions (QUDT dimension vectors)."""

from __future__ import annotations

import pytest

from adapters.contract.model import DataType
from gateway.rules import dims
from gateway.rules.expr import ExprError, parse_unit_expression
from tests.unit.gateway.rules.expr_harness import Compile, FakeEnv

HEAT = "flow * (supply_temp - return_temp) * 1.163 [KiloW-HR/(M3*K)]"


def test_thermal_power_from_flow_and_temperature_difference(compile_: Compile, env: FakeEnv) -> None:
    # 10 m³/h, 20 K, water: 232.6 kW
    assert compile_(HEAT, "KiloW").evaluate(env) == pytest.approx(232.6)
    assert compile_(HEAT, "W").evaluate(env) == pytest.approx(232600.0)


def test_thermal_power_without_the_constant_says_what_is_missing(compile_: Compile) -> None:
    with pytest.raises(ExprError) as err:
        compile_("flow * (supply_temp - return_temp)", "KiloW")
    assert err.value.message == (
        "the expression gives M3-DEG_C-PER-HR (volume per time x temperature), the point's unit KiloW needs power: "
        "multiply by a constant with a unit, e.g. 1.163 [KiloW*HR/(M3*DEG_C)]"
    )
    assert err.value.position == 0


def test_the_suggested_constant_unit_is_valid_and_fixes_the_expression(compile_: Compile, env: FakeEnv) -> None:
    fixed = compile_("flow * (supply_temp - return_temp) * 1.163 [KiloW*HR/(M3*DEG_C)]", "KiloW")
    assert fixed.evaluate(env) == pytest.approx(232.6)


def test_temperature_plus_pressure_fails_at_the_operator(compile_: Compile) -> None:
    with pytest.raises(ExprError) as err:
        compile_("supply_temp + pressure", "DEG_C")
    assert err.value.message.startswith("cannot add DEG_C (temperature) and BAR (force per area)")
    assert err.value.position == 12


def test_comparing_different_quantities_fails(compile_: Compile) -> None:
    with pytest.raises(ExprError, match="cannot compare DEG_C"):
        compile_("supply_temp > pressure", None, DataType.BOOL)


def test_kilowatts_plus_watts_are_converted(compile_: Compile, env: FakeEnv) -> None:
    assert compile_("burner_power + aux_power", "KiloW").evaluate(env) == pytest.approx(251.5)
    assert compile_("aux_power + burner_power", "W").evaluate(env) == pytest.approx(251500.0)
    assert compile_("burner_power - aux_power", "W").evaluate(env) == pytest.approx(248500.0)


def test_a_fahrenheit_point_from_a_celsius_input(compile_: Compile, env: FakeEnv) -> None:
    assert compile_("supply_temp", "DEG_F").evaluate(env) == 176.0
    env.values["boiler1.supply_temp"] = 100.0
    assert compile_("supply_temp", "DEG_F").evaluate(env) == 212.0
    assert compile_("outside_temp", "DEG_C").evaluate(env) == pytest.approx(10.0)


def test_a_difference_of_temperatures_stays_a_difference(compile_: Compile, env: FakeEnv) -> None:
    assert compile_("supply_temp - return_temp", "DEG_C").evaluate(env) == pytest.approx(20.0)
    assert compile_("supply_temp - return_temp", "K").evaluate(env) == pytest.approx(20.0)
    assert compile_("supply_temp - return_temp", "DEG_F").evaluate(env) == pytest.approx(36.0)
    # 80 °C - 50 °F (10 °C) = 70 K, whatever the input units
    assert compile_("supply_temp - outside_temp", "K").evaluate(env) == pytest.approx(70.0)
    assert compile_("supply_temp - outside_temp", "DEG_C").evaluate(env) == pytest.approx(70.0)


def test_a_temperature_into_kelvins_is_absolute(compile_: Compile, env: FakeEnv) -> None:
    assert compile_("supply_temp", "K").evaluate(env) == pytest.approx(353.15)


def test_a_mean_of_temperatures_is_a_temperature(compile_: Compile, env: FakeEnv) -> None:
    assert compile_("(supply_temp + return_temp) / 2", "DEG_C").evaluate(env) == pytest.approx(70.0)
    assert compile_("(supply_temp + outside_temp) / 2", "DEG_C").evaluate(env) == pytest.approx(45.0)
    assert compile_("(supply_temp + return_temp) / 2", "K").evaluate(env) == pytest.approx(343.15)


def test_in_products_temperatures_are_kelvins(compile_: Compile, env: FakeEnv) -> None:
    assert compile_("supply_temp * 1 [1/K]", None).evaluate(env) == pytest.approx(353.15)
    assert compile_("supply_temp / return_temp", None).evaluate(env) == pytest.approx(353.15 / 333.15)


def test_a_bare_number_takes_the_other_operands_unit(compile_: Compile, env: FakeEnv) -> None:
    assert compile_("supply_temp > 75", None, DataType.BOOL).evaluate(env) is True
    assert compile_("supply_temp > 85", None, DataType.BOOL).evaluate(env) is False
    assert compile_("75 < supply_temp", None, DataType.BOOL).evaluate(env) is True
    assert compile_("supply_temp + 2", "DEG_C").evaluate(env) == pytest.approx(82.0)  # 2 K more
    assert compile_("supply_temp + 2", "K").evaluate(env) == pytest.approx(355.15)
    assert compile_("max(aux_power, 2000)", "W").evaluate(env) == pytest.approx(2000.0)
    assert compile_("min(aux_power * 2, 2000)", "W").evaluate(env) == pytest.approx(2000.0)
    assert compile_("outside_temp < 60", None, DataType.BOOL).evaluate(env) is True  # 60 °F
    assert compile_("if(pump_on, 100, 0)", "KiloW").evaluate(env) == pytest.approx(100.0)
    assert compile_("5", "KiloW").evaluate(env) == 5.0


def test_in_products_a_bare_number_is_a_plain_factor(compile_: Compile, env: FakeEnv) -> None:
    assert compile_("burner_power * 2", "W").evaluate(env) == pytest.approx(500000.0)
    with pytest.raises(ExprError, match="the point has no unit, it needs a plain number"):
        compile_("burner_power * 2", None)


def test_constants_with_units_convert(compile_: Compile, env: FakeEnv) -> None:
    assert compile_("supply_temp > 350 [K]", None, DataType.BOOL).evaluate(env) is True
    assert compile_("supply_temp > 180 [DEG_F]", None, DataType.BOOL).evaluate(env) is False
    assert compile_("supply_temp + 5 [K]", "DEG_C").evaluate(env) == pytest.approx(85.0)
    assert compile_("2 [kW·h] / 1 [h]", "W").evaluate(env) == pytest.approx(2000.0)
    assert compile_("flow * 1 [h]", "L").evaluate(env) == pytest.approx(10000.0)


def test_powers_and_roots_of_dimensions(compile_: Compile, env: FakeEnv) -> None:
    assert compile_("(pressure / 1 [BAR]) ^ 2", None).evaluate(env) == pytest.approx(6.25)
    assert compile_("sqrt(flow * flow)", "M3-PER-SEC").evaluate(env) == pytest.approx(10 / 3600)
    assert compile_("(1 [M])^3", "L").evaluate(env) == pytest.approx(1000.0)
    with pytest.raises(ExprError, match="sqrt of W"):
        compile_("sqrt(aux_power)", "W")
    with pytest.raises(ExprError, match=r"to the power 0\.5 has a fractional dimension"):
        compile_("aux_power ^ 0.5", None)
    with pytest.raises(ExprError, match="needs a constant exponent"):
        compile_("aux_power ^ count", None)
    with pytest.raises(ExprError, match="an exponent must be a plain number"):
        compile_("2 ^ aux_power", None)


def test_a_dimensionless_target_accepts_percent_and_ratios(compile_: Compile, env: FakeEnv) -> None:
    assert compile_("aux_power / burner_power", "PERCENT").evaluate(env) == pytest.approx(0.6)
    assert compile_("aux_power / burner_power", "UNITLESS").evaluate(env) == pytest.approx(0.006)


def test_window_functions_have_the_right_dimensions(compile_: Compile) -> None:
    compile_("integral(burner_power)", "KiloW-HR")
    compile_("rate(supply_temp) * 60 [SEC]", "K")
    compile_("rate(flow, 1min)", "M3-PER-SEC2")
    compile_("last_change(pump_on)", "MIN")
    with pytest.raises(ExprError, match="the expression gives KiloW-SEC"):
        compile_("integral(burner_power)", "KiloW")


def test_unknown_units_in_brackets_are_named_with_suggestions(compile_: Compile) -> None:
    with pytest.raises(ExprError) as err:
        compile_("flow * 2 [kilowatt]", "KiloW")
    assert err.value.message.startswith("unknown unit 'kilowatt' (did you mean KiloW")
    assert err.value.position == 10
    with pytest.raises(ExprError) as err:
        compile_("flow * 2 [KiloW/(M3 HR)]", "KiloW")
    assert err.value.message == "expected ')' in the unit"


def test_parse_unit_expression() -> None:
    mul, off, dim = parse_unit_expression("K/min")
    assert (mul, off, dim) == (pytest.approx(1 / 60), 0.0, "A0E0L0I0M0H1T-1D0")
    assert parse_unit_expression("°C") == (1.0, 273.15, "A0E0L0I0M0H1T0D0")
    mul, off, dim = parse_unit_expression("KiloW-HR/(M3*K)")
    assert mul == pytest.approx(3.6e6) and dim == "A0E0L-1I0M1H-1T-2D0"
    assert parse_unit_expression("m^3/h")[2] == "A0E0L3I0M0H0T-1D0"
    assert parse_unit_expression("1/s")[2] == "A0E0L0I0M0H0T-1D0"
    with pytest.raises(ExprError):
        parse_unit_expression("blorp")


def test_dimension_vectors() -> None:
    assert dims.parse_dimension("A0E0L2I0M1H0T-3D0") == (0, 0, 2, 0, 1, 0, -3)
    assert dims.parse_dimension("A0E0L-0dot5I0M1H0T-2D0") == (0, 0, -0.5, 0, 1, 0, -2)
    assert dims.format_dimension((0, 0, 2, 0, 1, 0, -3)) == "A0E0L2I0M1H0T-3D0"
    assert dims.format_dimension(dims.DIMENSIONLESS) == "A0E0L0I0M0H0T0D1"
    assert dims.combine((0, 0, 3, 0, 0, 0, -1), dims.TEMPERATURE) == (0, 0, 3, 0, 0, 1, -1)
    assert dims.scale_dims((0, 0, 2, 0, 0, 0, 0), 0.5) == (0, 0, 1, 0, 0, 0, 0)
    assert dims.scale_dims((0, 0, 1, 0, 0, 0, 0), 0.5) is None
    assert dims.quantity_words((0, 0, 2, 0, 1, 0, -3)) == "power"
    with pytest.raises(dims.DimensionError):
        dims.parse_dimension("L2M1X3")
