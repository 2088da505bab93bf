"""A small plant with a location tree, relations of every target kind and nameplate properties, built as model
objects (no mapping loader), for the twin-graph and SHACL tests.

    plant (Site) > hq (Building) > f1 (Floor) > boilerroom, hall (Room, Mechanical_Room), room101 (Room)
    plc1 --tb:controls--> boiler1 --feeds--> ahu1 --feeds--> room101
    boiler1: in boilerroom, hasInputSubstance brick:Natural_Gas, ex:maintainedBy ex:teamA, a nameplate
    boiler1.supply_temp (inherits boilerroom), ahu1.sat (in hall), ahu1.zone_temp (own location room101,
    ex:derivedFrom boiler1.supply_temp), ahu1.fan (setpoint), ahu1.run (bool status, no unit)
"""

from __future__ import annotations

import datetime
from dataclasses import replace

from adapters.contract.model import (
    Asset,
    AssetLevel,
    DataType,
    Location,
    Origin,
    PointKind,
    Property,
    Relation,
    TargetKind,
)
from adapters.contract.rdf import BRICK, RDFS, TB
from gateway.model import TwinModel
from tests.conftest import make_model, make_point

EX = "http://example.com/plant#"
SCHEMA = "http://schema.org/"
BASE = "http://topo.local/"


def feeds(target: str, kind: TargetKind = TargetKind.ASSET) -> Relation:
    """``brick:feeds target`` (inverse ``brick:isFedBy``)."""
    return Relation(BRICK + "feeds", target, kind, "Feeds", BRICK + "isFedBy", "IsFedBy")


def location(lid: str, cls: str, parent: str | None, line: int, *extra: str) -> Location:
    """A location of the tree, declared at plant.yaml:line:5."""
    return Location(lid, (BRICK + cls, *extra), lid.title(), parent, origin=Origin("plant.yaml", line, 5))


NAMEPLATE = (
    Property("manufacturer", SCHEMA + "manufacturer", "Viessmann", "Manufacturer"),
    Property("install_date", TB + "installDate", datetime.date(2019, 5, 14), "Install date"),
    Property(
        "documents",
        RDFS + "seeAlso",
        ("https://example.com/manual.pdf", "https://example.com/data sheet.pdf"),
        "Documents",
    ),
    Property("rated_power", BRICK + "ratedPowerOutput", 40, "Rated power", "KiloW", Origin("plant.yaml", 30, 7)),
    Property("ex:heated", EX + "heated", True, "Heated"),
)


def topology_model(*, standard_values: bool = True) -> TwinModel:
    """The plant above (``standard_values`` sets the twin setting of that name)."""
    model = make_model(
        [
            make_point("boiler1.supply_temp"),
            make_point("ahu1.sat", location="hall"),
            make_point(
                "ahu1.zone_temp",
                location="room101",
                relations=(Relation(EX + "derivedFrom", "boiler1.supply_temp", TargetKind.POINT, "DerivedFrom"),),
                properties=(Property("accuracy", EX + "accuracy", 0.5, "Accuracy", "K"),),
            ),
            make_point("ahu1.fan", kind=PointKind.SETPOINT, unit="PERCENT", writable=True),
            make_point("ahu1.run", kind=PointKind.STATUS, datatype=DataType.BOOL, unit=None),
            make_point("plc1.cpu_load", unit="PERCENT"),
        ],
        base_iri=BASE,
    )
    model.settings = model.settings.model_copy(update={"standard_values": standard_values})
    model.locations = {
        loc.id: loc
        for loc in (
            location("plant", "Site", None, 2),
            replace(
                location("hq", "Building", "plant", 3),
                properties=(Property("year_built", BRICK + "yearBuilt", 1998, "Year built"),),
            ),
            location("f1", "Floor", "hq", 4),
            location("boilerroom", "Room", "f1", 5),
            location("hall", "Room", "f1", 6, BRICK + "Mechanical_Room"),
            location("room101", "Room", "f1", 7),
        )
    }
    model.assets["boiler1"] = Asset(
        "boiler1",
        AssetLevel.EQUIPMENT,
        (BRICK + "Boiler",),
        "Boiler 1",
        location="boilerroom",
        relations=(
            feeds("ahu1"),
            Relation(BRICK + "hasInputSubstance", BRICK + "Natural_Gas", TargetKind.TERM, "HasInputSubstance"),
            Relation(EX + "maintainedBy", EX + "teamA", TargetKind.TERM, "MaintainedBy", EX + "maintains", "Maintains"),
        ),
        properties=NAMEPLATE,
        origin=Origin("plant.yaml", 20, 5),
    )
    model.assets["ahu1"] = Asset(
        "ahu1",
        AssetLevel.EQUIPMENT,
        (BRICK + "AHU",),
        "AHU 1",
        location="hall",
        relations=(feeds("room101", TargetKind.LOCATION),),
    )
    model.assets["plc1"] = Asset(
        "plc1",
        AssetLevel.EQUIPMENT,
        (BRICK + "Controller",),
        "PLC 1",
        location="hall",
        relations=(
            Relation(TB + "controls", "boiler1", TargetKind.ASSET, "Controls", TB + "isControlledBy", "IsControlledBy"),
        ),
    )
    return model
