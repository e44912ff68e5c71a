"""Synthetic GIS layers for `coeqwal run`: water budget areas and demand units.

The real CalSim3 layers are DWR's and not part of the product, so the sample run
loads look-alike layers generated here from the entity seeds: one rectangle per
water budget area of `seeds/entities/water_budget_areas.csv`, laid out on a grid
over the Central Valley's latitudes and longitudes, and one rectangle per demand
unit of `seeds/entities/demand_units.csv` that has GIS data, inside its area's
rectangle. They exercise what the real files need: the areas are GeoJSON in
EPSG:4326 with the real layer's attribute names (`WaterBudgetArea_ID`,
`HydroRegion`); the demand units are a Shapefile in California Albers
(EPSG:3310) with `DU_ID`, so the ingest reprojects them. The shapes are not
geography: a map drawn from them is a schematic.

Content is deterministic (the same seeds give the same geometries and
attributes); Shapefiles stamp their write date in the .dbf header, so bytes are
not.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from ingest.config import PROJECT_ROOT

ENTITY_SEEDS = PROJECT_ROOT / "seeds" / "entities"
# The grid's extent, WGS84 degrees: the Central Valley and its rims.
WEST, EAST, SOUTH, NORTH = -122.9, -118.7, 35.0, 40.9
LAYERS = ("water_budget_areas", "demand_units")


def _rows(name: str) -> list[dict[str, str]]:
    with (ENTITY_SEEDS / f"{name}.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def _box(x0: float, y0: float, x1: float, y1: float):
    from shapely.geometry import box

    return box(x0, y0, x1, y1)


def wba_cells() -> dict[str, tuple[float, float, float, float]]:
    """(west, south, east, north) of each water budget area's cell, north to south."""
    codes = [row["wba_code"] for row in _rows("water_budget_areas")]
    cols = math.ceil(math.sqrt(len(codes)))
    rows = math.ceil(len(codes) / cols)
    width, height = (EAST - WEST) / cols, (NORTH - SOUTH) / rows
    cells = {}
    for i, code in enumerate(codes):
        r, c = divmod(i, cols)
        x0, y1 = WEST + c * width, NORTH - r * height
        cells[code] = (x0, y1 - height, x0 + width, y1)
    return cells


def write_layers(out: Path) -> dict[str, Path]:
    """Write both layers under `out`; returns {layer name: main file}."""
    import geopandas as gpd

    out.mkdir(parents=True, exist_ok=True)
    regions = {
        r["hydrologic_region_code"]: r["calsim_region_code"] for r in _rows("hydrologic_regions")
    }
    areas = _rows("water_budget_areas")
    cells = wba_cells()
    wba = gpd.GeoDataFrame(
        {
            "WaterBudgetArea_ID": [a["wba_code"] for a in areas],
            "HydroRegion": [regions.get(a["hydrologic_region"]) or None for a in areas],
        },
        geometry=[_box(*cells[a["wba_code"]]) for a in areas],
        crs="EPSG:4326",
    )
    wba_path = out / "water_budget_areas.geojson"
    wba_path.unlink(missing_ok=True)
    wba.to_file(wba_path, driver="GeoJSON", engine="pyogrio")

    units = [u for u in _rows("demand_units") if u["has_gis_data"] == "true" and u["wba_code"]]
    by_area: dict[str, list[str]] = {}
    for unit in units:
        by_area.setdefault(unit["wba_code"], []).append(unit["du_code"])
    codes, shapes = [], []
    for wba_code, du_codes in by_area.items():
        x0, y0, x1, y1 = cells[wba_code]
        # vertical strips inside the area's cell, with a margin so units never touch
        pad_x, pad_y = (x1 - x0) * 0.05, (y1 - y0) * 0.05
        strip = (x1 - x0 - 2 * pad_x) / len(du_codes)
        for i, du_code in enumerate(sorted(du_codes)):
            left = x0 + pad_x + i * strip
            codes.append(du_code)
            shapes.append(_box(left + strip * 0.1, y0 + pad_y, left + strip * 0.9, y1 - pad_y))
    du = gpd.GeoDataFrame({"DU_ID": codes}, geometry=shapes, crs="EPSG:4326").to_crs(3310)
    du_path = out / "demand_units" / "DemandUnits.shp"
    du_path.parent.mkdir(parents=True, exist_ok=True)
    du.to_file(du_path, driver="ESRI Shapefile", engine="pyogrio")
    return {"water_budget_areas": wba_path, "demand_units": du_path}


def ensure_layers(out: Path) -> dict[str, Path]:
    """The sample layers, written once (their content is deterministic, so reuse is exact)."""
    expected = {
        "water_budget_areas": out / "water_budget_areas.geojson",
        "demand_units": out / "demand_units" / "DemandUnits.shp",
    }
    stamp = out / ".complete"
    if stamp.exists() and all(p.exists() for p in expected.values()):
        return expected
    stamp.unlink(missing_ok=True)
    paths = write_layers(out)
    stamp.write_text("ok\n")
    return paths
