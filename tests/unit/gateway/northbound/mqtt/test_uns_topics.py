"""UNS topic templates: levels from the asset tree, empty levels dropped, ids made valid topic levels, template
errors, and the table that finds two things on one topic."""

from __future__ import annotations

import pytest

from adapters.contract.model import Asset, AssetLevel
from gateway.model import TwinModel
from gateway.northbound.mqtt.config import DEFAULT_UNS_TOPIC
from gateway.northbound.mqtt.uns_topics import Namespace, TemplateError, TopicTemplate, check_prefix, level_text
from tests.conftest import make_model, make_point


def _plant() -> TwinModel:
    """site > hall (area) > line1 > skid (equipment) > pump (equipment); boiler directly under the site."""
    model = make_model(
        [
            make_point("pump.speed"),
            make_point("skid.flow"),
            make_point("boiler.temp"),
            make_point("site.outside"),
            make_point("odd.a+b"),
        ]
    )
    for a in [
        Asset("site", AssetLevel.SITE, (), "Site"),
        Asset("hall", AssetLevel.AREA, (), "Hall", parent="site"),
        Asset("line1", AssetLevel.LINE, (), "Line 1", parent="hall"),
        Asset("skid", AssetLevel.EQUIPMENT, (), "Skid", parent="line1"),
        Asset("pump", AssetLevel.EQUIPMENT, (), "Pump", parent="skid"),
        Asset("boiler", AssetLevel.EQUIPMENT, (), "Boiler", parent="site"),
        Asset("odd", AssetLevel.EQUIPMENT, (), "Odd", parent="site"),
    ]:
        model.assets[a.id] = a
    return model


def _ns(template: str = DEFAULT_UNS_TOPIC, prefix: str = "tb", **kw: bool) -> Namespace:
    return Namespace(TopicTemplate.parse(template), check_prefix(prefix), _plant(), **kw)


def test_levels_come_from_the_asset_tree_nested_equipment_joined_and_missing_levels_dropped() -> None:
    ns = _ns()
    points = ns.model.points
    assert ns.point_topic(points["pump.speed"]) == "tb/site/hall/line1/skid/pump/speed"
    assert ns.point_topic(points["skid.flow"]) == "tb/site/hall/line1/skid/flow"
    assert ns.point_topic(points["boiler.temp"]) == "tb/site/boiler/temp"  # no area, no line: no empty levels
    assert ns.point_topic(points["site.outside"]) == "tb/site/outside"
    assert ns.asset_topic("hall") == "tb/site/hall"


def test_asset_point_and_literal_levels_and_a_prefix_of_several_levels() -> None:
    ns = _ns("plant/{prefix}/{asset}/{point}-value", prefix="/a//b/")
    assert ns.point_topic(ns.model.points["pump.speed"]) == "plant/a/b/pump/speed-value"
    assert ns.head() == "plant/a/b"
    assert _ns("{site}/{prefix}/{point}", prefix="").head() == ""
    assert _ns(prefix="").point_topic(ns.model.points["boiler.temp"]) == "site/boiler/temp"


def test_wildcards_and_separators_in_ids_become_underscores() -> None:
    ns = _ns()
    assert ns.point_topic(ns.model.points["odd.a+b"]) == "tb/site/odd/a_b"
    assert [level_text(t) for t in ("a/b", "x#", "+", "")] == ["a_b", "x_", "_", "_"]


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("{prefix}/{building}/{point}", "names {building}, which is no level: use {prefix}, {site}"),
        ("{prefix}/{point:>5}", "names {point:>5}, which is no level"),
        ("{prefix}/{point!r}", "names {point!r}, which is no level"),
        ("{prefix}/{}", "names {}, which is no level"),
        ("{prefix}/+/{point}", "contains + or #"),
        ("{prefix}/#", "contains + or #"),
        ("$SYS/{point}", "starts with $"),
        ("{prefix}/{point", "expected '}' before end of string"),
    ],
)
def test_a_template_naming_an_unknown_level_or_with_wildcards_is_refused(template: str, says: str) -> None:
    with pytest.raises(TemplateError, match=None) as err:
        TopicTemplate.parse(template)
    assert says in str(err.value)


def test_prefix_rules() -> None:
    assert check_prefix("a/b") == "a/b"
    for bad in ("a/+", "x#", "$share"):
        with pytest.raises(TemplateError):
            check_prefix(bad)


def test_a_collision_names_both_points_and_the_second_is_left_out() -> None:
    ns = _ns("{prefix}/{site}/{point}", meta=False)
    points = ns.model.points
    assert ns.add_point(points["pump.speed"]) == (True, [])
    ns.model.points["boiler.speed"] = make_point("boiler.speed")
    placed, collisions = ns.add_point(points["boiler.speed"])
    assert not placed and [str(c) for c in collisions] == [
        "point 'pump.speed' and point 'boiler.speed' would both publish on 'tb/site/speed'"
    ]
    assert ns.point_topics == {"pump.speed": "tb/site/speed"}
    assert ns.add_point(points["pump.speed"]) == (True, [])  # again: already there, nothing new


def test_meta_topics_of_assets_and_ancestors_and_their_collisions() -> None:
    ns = _ns(meta=True)
    assert ns.add_point(ns.model.points["pump.speed"]) == (True, [])
    assert ns.meta_topics == {
        "pump": "tb/site/hall/line1/skid/pump/_meta",
        "skid": "tb/site/hall/line1/skid/_meta",
        "line1": "tb/site/hall/line1/_meta",
        "hall": "tb/site/hall/_meta",
        "site": "tb/site/_meta",
    }
    flat = _ns("{prefix}/{point}", meta=True)  # no asset level: every asset's metadata on tb/_meta
    placed, collisions = flat.add_point(flat.model.points["boiler.temp"])
    assert placed  # the point keeps its topic; the metadata of its site is left out
    assert [str(c) for c in collisions] == [
        "the metadata of asset 'boiler' and the metadata of asset 'site' would both publish on 'tb/_meta'"
    ]
    assert collisions[0].meta and flat.meta_topics == {"boiler": "tb/_meta", "site": ""}


def test_a_point_on_another_points_command_topic_collides_when_commands_are_on() -> None:
    model = _plant()
    model.points["boiler.temp"] = make_point("boiler.temp")
    model.points["temp.set"] = make_point("temp.set")
    model.assets["temp"] = Asset("temp", AssetLevel.EQUIPMENT, (), "T", parent="boiler")
    ns = Namespace(TopicTemplate.parse("{prefix}/{equipment}/{point}"), "tb", model, meta=False, commands=True)
    assert ns.add_point(model.points["boiler.temp"]) == (True, [])
    placed, collisions = ns.add_point(model.points["temp.set"])  # tb/boiler/temp/set
    assert not placed
    assert str(collisions[0]) == (
        "the command topic of point 'boiler.temp' and point 'temp.set' would both publish on 'tb/boiler/temp/set'"
    )
