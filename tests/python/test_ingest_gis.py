"""`coeqwal ingest gis`: real layers, reprojection, repair, GeoPackage, failures, S3, dbt.

Expected numbers come from independent reads of the files (geopandas/shapely for
counts and validity, pyproj for reprojected vertices, DWR's own `GIS_Acres`
attribute for areas), never from the loader. The real layers are read in place
from ../shared/data/gis (skipped with a reason when absent). Everything runs
against a real PostgreSQL/PostGIS database of this module's own.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from tests.python.conftest import (
    ROOT,
    TEST_DATABASE,
    coeqwal,
    fresh_database,
    s3_client,
    sql_runner,
)
from tests.python.test_ingest_dss import s3_endpoint  # noqa: F401  (moto_server fixture)

pytestmark = pytest.mark.db

DATABASE = f"{TEST_DATABASE}_gis"
ENV = {"COEQWAL_DATABASE": DATABASE}
# California's bounding box, WGS84 degrees (west, south, east, north).
CALIFORNIA = (-124.5, 32.5, -114.0, 42.0)


@pytest.fixture(scope="module")
def db(test_db):
    """A database of this module's own, so GIS loads never touch other suites' data."""
    return fresh_database(test_db, DATABASE)


@pytest.fixture(scope="module")
def q(db):
    return sql_runner(db.url())


def ingest(*args: str, env: dict | None = None, check: bool = True):
    return coeqwal("ingest", "gis", *args, env={**ENV, **(env or {})}, check=check)


def last_run(q, layer: str) -> tuple:
    return q(
        "select status, error, files from ops.ingest_runs where kind = 'gis' "
        "and layer_name = %s order by run_id desc limit 1",
        (layer,),
    )[0]


def checksum(q, table: str) -> tuple[int, str]:
    """(rows, md5 of every geometry's EWKB in feature order) of a raw layer."""
    return q(
        f"select count(*), md5(string_agg(geometry_ewkb, ',' order by feature_index)) "
        f"from raw_gis.{table}"
    )[0]


@pytest.fixture(scope="module")
def gis_dir(shared_data) -> Path:
    path = shared_data / "gis"
    if not (path / "water_budget_areas.geojson").exists():
        pytest.skip("../shared/data/gis/water_budget_areas.geojson is absent")
    return path


@pytest.fixture(scope="module")
def wba_loaded(db, gis_dir, q) -> Path:
    path = gis_dir / "water_budget_areas.geojson"
    ingest("--layer", "water_budget_areas", str(path))
    return path


@pytest.fixture(scope="module")
def du_loaded(db, gis_dir, q) -> Path:
    path = gis_dir / "demand_units" / "DemandUnits.shp"
    if not path.exists():
        pytest.skip("../shared/data/gis/demand_units/DemandUnits.shp is absent")
    ingest("--layer", "demand_units", str(path))
    return path


def _assert_valid_and_in_california(q, table: str) -> None:
    invalid, srids, (xmin, ymin, xmax, ymax) = q(
        f"""
        select count(*) filter (where not st_isvalid(g)), array_agg(distinct st_srid(g)),
            array[st_xmin(st_extent(g)), st_ymin(st_extent(g)),
                  st_xmax(st_extent(g)), st_ymax(st_extent(g))]
        from (select st_geomfromewkb(decode(geometry_ewkb, 'hex')) as g
              from raw_gis.{table}) as t
        """
    )[0]
    assert invalid == 0
    assert srids == [4326]
    west, south, east, north = CALIFORNIA
    assert west < xmin < xmax < east and south < ymin < ymax < north, (xmin, ymin, xmax, ymax)


# --- the real layers --------------------------------------------------------------


def test_water_budget_areas_load_whole_and_valid(wba_loaded, q):
    import geopandas as gpd

    source = gpd.read_file(wba_loaded)
    assert len(source) == 42  # the count, and the file's
    assert q("select count(*), count(distinct water_budget_area_id) "
             "from raw_gis.water_budget_areas")[0] == (42, 42)  # fmt: skip
    _assert_valid_and_in_california(q, "water_budget_areas")
    # attribute names are snake_case
    columns = {r[0] for r in q("select column_name from information_schema.columns "
                                 "where table_schema = 'raw_gis' "
                                 "and table_name = 'water_budget_areas'")}  # fmt: skip
    assert {"water_budget_area_id", "hydro_region", "gis_acres", "shape_area"} <= columns
    assert not any(c != c.lower() for c in columns)
    # DWR's own acreage attribute agrees with the loaded outline's spheroidal area
    worst = q("select max(abs(st_area(st_geomfromewkb(decode(geometry_ewkb, 'hex'))::geography)"
              " / 4046.8564224 / gis_acres - 1)) from raw_gis.water_budget_areas")[0][0]  # fmt: skip
    assert worst < 0.01
    status, error, files = last_run(q, "water_budget_areas")
    assert (status, error) == ("succeeded", None)
    assert files[0]["crs"] == "EPSG:4326" and files[0]["features"] == 42
    assert len(files[0]["sha256"]) == 64


def test_demand_units_reprojected_from_california_albers(du_loaded, q):
    import geopandas as gpd
    import numpy as np
    import pyproj
    import shapely

    source = gpd.read_file(du_loaded)
    assert source.crs.to_epsg() == 3310
    assert len(source) == 236
    assert q("select count(*) from raw_gis.demand_units")[0][0] == 236
    _assert_valid_and_in_california(q, "demand_units")

    invalid_in_source = int((~shapely.is_valid(np.asarray(source.geometry.values))).sum())
    status, _, files = last_run(q, "demand_units")
    assert status == "succeeded"
    assert files[0]["crs"] == "EPSG:3310"
    assert files[0]["repaired"] == invalid_in_source > 0

    # the first vertex of several features that were valid in the file (repair may
    # reorder vertices), reprojected independently with pyproj
    to_wgs84 = pyproj.Transformer.from_crs(3310, 4326, always_xy=True)
    valid = [i for i, g in enumerate(source.geometry) if g.is_valid][::40]
    assert len(valid) >= 4
    for i in valid:
        geom = source.geometry.iloc[i]
        first = geom.geoms[0] if geom.geom_type == "MultiPolygon" else geom
        x, y = first.exterior.coords[0]
        lon, lat = to_wgs84.transform(x, y)
        got = q("select st_x(p), st_y(p) from (select st_pointn(st_exteriorring(st_geometryn("
                "st_multi(st_geomfromewkb(decode(geometry_ewkb, 'hex'))), 1)), 1) as p "
                "from raw_gis.demand_units where feature_index = %s) as t", (i,))[0]  # fmt: skip
        assert got == pytest.approx((lon, lat), abs=1e-9)


def test_same_file_again_is_unchanged_and_forced_reload_is_identical(du_loaded, q):
    before = checksum(q, "demand_units")
    runs = q("select count(*) from ops.ingest_runs")[0][0]
    out = ingest("--layer", "demand_units", str(du_loaded))
    assert "unchanged" in out.stdout
    assert last_run(q, "demand_units")[0] == "unchanged"
    ingest("--layer", "demand_units", "--force", str(du_loaded))
    assert last_run(q, "demand_units")[0] == "succeeded"
    assert checksum(q, "demand_units") == before
    assert q("select count(*) from ops.ingest_runs")[0][0] == runs + 2


# --- repair, GeoPackage, projected CRS -----------------------------------------------


def _bowtie(x0: float, y0: float, d: float):
    from shapely.geometry import Polygon

    # edges (x0,y0)-(x0+d,y0+d) and (x0+d,y0)-(x0,y0+d) cross at the centre
    return Polygon([(x0, y0), (x0 + d, y0 + d), (x0 + d, y0), (x0, y0 + d), (x0, y0)])


def test_self_intersecting_polygon_is_repaired_and_counted(db, q, tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    d = 0.2
    bowtie = _bowtie(-120.0, 37.0, d)
    assert not bowtie.is_valid
    frame = gpd.GeoDataFrame(
        {"Zone Name": ["bow-tie", "square"]},
        geometry=[bowtie, box(-119.0, 37.0, -118.8, 37.2)],
        crs="EPSG:4326",
    )
    path = tmp_path / "bowtie.geojson"
    frame.to_file(path, driver="GeoJSON")
    out = ingest("--layer", "test_bowtie", str(path))
    assert "1 invalid geometries repaired" in out.stdout
    assert last_run(q, "test_bowtie")[2][0]["repaired"] == 1
    rows = q("select zone_name, st_isvalid(g), st_numgeometries(g), st_area(g) from ("
             "select zone_name, st_multi(st_geomfromewkb(decode(geometry_ewkb, 'hex'))) as g "
             "from raw_gis.test_bowtie) as t order by zone_name")  # fmt: skip
    # two triangles of base d and height d/2 each: d^2/2 in square degrees
    assert rows[0][:3] == ("bow-tie", True, 2)
    assert rows[0][3] == pytest.approx(d * d / 2, rel=1e-9)
    assert rows[1][1:] == (True, 1, pytest.approx(0.04, rel=1e-9))


def test_geopackage_layer_chosen_by_name_and_reprojected(db, q, tmp_path):
    import geopandas as gpd
    import pyproj
    from shapely.geometry import Point

    # UTM zone 10N metres around Sacramento: any source CRS must work
    points = [Point(630000 + 1000 * i, 4270000 + 500 * i) for i in range(5)]
    utm = gpd.GeoDataFrame({"SiteCode": [f"S{i}" for i in range(5)]}, geometry=points,
                           crs="EPSG:32610")  # fmt: skip
    other = gpd.GeoDataFrame({"x": [1]}, geometry=[Point(-120, 37)], crs="EPSG:4326")
    path = tmp_path / "layers.gpkg"
    utm.to_file(path, layer="sites", driver="GPKG")
    other.to_file(path, layer="other", driver="GPKG")

    ambiguous = ingest("--layer", "test_sites", str(path), check=False)
    assert ambiguous.returncode != 0
    assert "--gpkg-layer" in ambiguous.stderr and "sites" in ambiguous.stderr
    missing = ingest("--layer", "test_sites", "--gpkg-layer", "nope", str(path), check=False)
    assert missing.returncode != 0 and "no layer 'nope'" in missing.stderr

    ingest("--layer", "test_sites", "--gpkg-layer", "sites", str(path))
    rows = q("select site_code, st_x(g), st_y(g) from (select site_code, "
             "st_geomfromewkb(decode(geometry_ewkb, 'hex')) as g from raw_gis.test_sites) as t "
             "order by site_code")  # fmt: skip
    to_wgs84 = pyproj.Transformer.from_crs(32610, 4326, always_xy=True)
    assert len(rows) == 5
    for (code, x, y), point in zip(rows, points, strict=True):
        lon, lat = to_wgs84.transform(point.x, point.y)
        assert code.startswith("S")
        assert (x, y) == pytest.approx((lon, lat), abs=1e-9)
    files = last_run(q, "test_sites")[2]
    assert files[0]["gpkg_layer"] == "sites" and files[0]["crs"] == "EPSG:32610"


# --- failures leave the previous layer intact ----------------------------------------


@pytest.fixture(scope="module")
def sample_layers(tmp_path_factory) -> dict[str, Path]:
    from coeqwal_tools.sample import gis as sample_gis

    return sample_gis.write_layers(tmp_path_factory.mktemp("sample_gis"))


def _copy_shapefile(main: Path, dest: Path, skip: tuple[str, ...] = ()) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for part in main.parent.glob(main.stem + ".*"):
        if part.suffix.lower() not in skip:
            shutil.copy(part, dest / part.name)
    return dest / main.name


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("corrupt_shp", "not a readable GIS layer"),
        ("garbage_geojson", "not a readable GIS layer"),
        ("no_prj", "no coordinate reference system"),
        ("geojson_without_id", "needs an id attribute"),
    ],
)
def test_bad_file_fails_cleanly_and_keeps_previous_layer(
    db, q, tmp_path, sample_layers, case, message
):
    import geopandas as gpd
    from shapely.geometry import box

    layer = "demand_units"
    ingest("--layer", layer, "--force", str(sample_layers[layer]))
    before = checksum(q, layer)
    assert before[0] == sum(1 for _ in csv_rows("demand_units") if _["has_gis_data"] == "true")

    if case == "corrupt_shp":
        bad = _copy_shapefile(sample_layers[layer], tmp_path / "corrupt")
        data = bytearray(bad.read_bytes())
        data[:100] = b"\x00" * 100  # the header: file code and shape type gone
        bad.write_bytes(bytes(data[: len(data) // 2]))
    elif case == "garbage_geojson":
        bad = tmp_path / "broken.geojson"
        bad.write_text('{"type": "FeatureCollection", "features": [{"type": "Feat')
    elif case == "no_prj":
        bad = _copy_shapefile(sample_layers[layer], tmp_path / "noprj", skip=(".prj",))
    else:
        bad = tmp_path / "noid.geojson"
        gpd.GeoDataFrame({"name": ["x"]}, geometry=[box(-120, 37, -119, 38)],
                         crs="EPSG:4326").to_file(bad, driver="GeoJSON")  # fmt: skip

    proc = ingest("--layer", layer, str(bad), check=False)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("coeqwal: ") and message in lines[0]
    assert checksum(q, layer) == before
    status, error, _ = last_run(q, layer)
    assert status == "failed" and message in error


def csv_rows(seed: str) -> list[dict[str, str]]:
    with (ROOT / "seeds" / "entities" / f"{seed}.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_bad_layer_name_and_missing_file_are_refused(db):
    bad_name = ingest("--layer", "Water-Budget", "x.geojson", check=False)
    assert bad_name.returncode != 0 and "layer name" in bad_name.stderr
    missing = ingest("--layer", "test_missing", "/nonexistent/x.geojson", check=False)
    assert missing.returncode != 0 and "no such file" in missing.stderr


# --- S3 through moto's server on loopback ------------------------------------------


def test_s3_shapefile_loads_like_the_local_file(db, q, sample_layers, s3_endpoint):  # noqa: F811
    s3 = s3_client(s3_endpoint)
    s3.create_bucket(
        Bucket="coeqwal-gis", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    main = sample_layers["demand_units"]
    for part in main.parent.glob(main.stem + ".*"):
        s3.upload_file(str(part), "coeqwal-gis", f"layers/du/{part.name}")
    s3.upload_file(str(main), "coeqwal-gis", f"layers/nodbf/{main.name}")

    ingest("--layer", "test_du_local", str(main))
    ingest("--layer", "test_du_s3", f"s3://coeqwal-gis/layers/du/{main.name}", env=s3_endpoint)
    assert checksum(q, "test_du_s3") == checksum(q, "test_du_local")
    files = last_run(q, "test_du_s3")[2]
    assert files[0]["file"] == f"s3://coeqwal-gis/layers/du/{main.name}"
    assert files[0]["sha256"] == last_run(q, "test_du_local")[2][0]["sha256"]

    lone = ingest("--layer", "test_du_s3", f"s3://coeqwal-gis/layers/nodbf/{main.name}",
                  env=s3_endpoint, check=False)  # fmt: skip
    assert lone.returncode != 0 and ".shx file" in lone.stderr
    missing = ingest("--layer", "test_du_s3", "s3://coeqwal-gis/none.geojson",
                     env=s3_endpoint, check=False)  # fmt: skip
    assert missing.returncode != 0 and "S3 said 404" in missing.stderr
    assert checksum(q, "test_du_s3") == checksum(q, "test_du_local")


# --- dbt: typed, indexed geometries linked to the entity seeds ------------------------


def test_dbt_marts_link_real_layers_to_entities(wba_loaded, du_loaded, db, q):
    from ingest.build import run_dbt

    # the failure tests above may have replaced demand_units with the sample: reload
    ingest("--layer", "demand_units", "--force", str(du_loaded))
    code = run_dbt(
        ["build", "--select", "+path:models/marts/gis", "--indirect-selection", "cautious"],
        db=db,
        quiet=True,
    )
    assert code == 0

    seed_wbas = {r["wba_code"] for r in csv_rows("water_budget_areas")}
    rows = q("select wba_code, geometrytype(geom), st_isvalid(geom) "
             "from marts.dim_water_budget_areas")  # fmt: skip
    assert {r[0] for r in rows} == seed_wbas
    assert {(r[1], r[2]) for r in rows} == {("MULTIPOLYGON", True)}

    seed_dus = csv_rows("demand_units")
    expected = {r["du_code"] for r in seed_dus if r["has_gis_data"] == "true"}
    with_geom = {r[0] for r in q("select du_code from marts.dim_demand_units "
                                 "where is_in_entities_seed and geom is not null")}  # fmt: skip
    assert with_geom == expected
    # the layer's 235 labelled units (one feature has no DU_ID) all reach the mart
    assert q("select count(*) from marts.dim_demand_units where has_geometry")[0][0] == 235
    assert q("select count(distinct du_class) from marts.dim_demand_units")[0][0] == 3

    located = q("select count(*) from marts.dim_reservoir_locations where geom is not null")
    assert located[0][0] == sum(1 for r in csv_rows("reservoirs") if r["latitude"])
    typmods = dict(q("select f_table_name, type || ',' || srid from geometry_columns "
                     "where f_table_schema = 'marts'"))  # fmt: skip
    assert typmods == {
        "dim_water_budget_areas": "MULTIPOLYGON,4326",
        "dim_demand_units": "MULTIPOLYGON,4326",
        "dim_reservoir_locations": "POINT,4326",
    }
    gist = {r[0] for r in q("select tablename from pg_indexes where schemaname = 'marts' "
                            "and indexdef like '%USING gist (geom)%'")}  # fmt: skip
    assert gist == set(typmods)


def test_sample_layers_cover_the_seed_entities(sample_layers):
    import geopandas as gpd

    wba = gpd.read_file(sample_layers["water_budget_areas"])
    du = gpd.read_file(sample_layers["demand_units"])
    assert sorted(wba["WaterBudgetArea_ID"]) == sorted(
        r["wba_code"] for r in csv_rows("water_budget_areas")
    )
    assert sorted(du["DU_ID"]) == sorted(
        r["du_code"] for r in csv_rows("demand_units") if r["has_gis_data"] == "true"
    )
    assert du.crs.to_epsg() == 3310 and wba.crs.to_epsg() == 4326
    assert wba.is_valid.all() and du.is_valid.all()
    # each unit lies inside its water budget area's rectangle
    areas = dict(zip(wba["WaterBudgetArea_ID"], wba.geometry, strict=True))
    seed = {r["du_code"]: r["wba_code"] for r in csv_rows("demand_units")}
    for code, geom in zip(du["DU_ID"], du.to_crs(4326).geometry, strict=True):
        assert areas[seed[code]].buffer(1e-9).contains(geom), code
