"""Packed storage of the statistics marts (macros/publish/packing.sql): one row
per scenario and series, read back as the model's rows, bit for bit."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from tests.python.conftest import transaction

pytestmark = pytest.mark.db

SPECIAL = [0.0, -0.0, math.nan, math.inf, -math.inf, 5e-324, -1.7976931348623157e308, 1 / 3]


def _rows(seed: int = 7):
    """Rows of every awkward shape: special floats, NULL scalars, NULL and empty
    arrays, NULLs inside arrays, arrays of many lengths, one to 40 rows a key."""
    rng = np.random.default_rng(seed)
    rows = []
    for scenario in ("a", "b"):
        for key_index in range(25):
            for k in range(int(rng.integers(1, 41))):
                length = int(rng.integers(0, 16))
                values = [float(v) for v in rng.normal(0, 1e3, length)]
                if length and rng.random() < 0.3:
                    values[int(rng.integers(0, length))] = None
                if length and rng.random() < 0.3:
                    values[0] = SPECIAL[int(rng.integers(0, len(SPECIAL)))]
                shape = rng.random()
                array = None if shape < 0.1 else ([] if shape < 0.2 else values)
                x = SPECIAL[k % len(SPECIAL)] if rng.random() < 0.4 else float(rng.normal())
                rows.append(
                    (
                        scenario,
                        f"V{key_index:02d}/FLOW",
                        k,
                        None if rng.random() < 0.1 else x,
                        None if rng.random() < 0.1 else float(np.float32(rng.normal())),
                        array,
                        None if rng.random() < 0.1 else f"label {k}",
                        bool(rng.random() < 0.5),
                    )
                )
    return rows


def _text(value):
    """A float, or an array of floats, as PostgreSQL reads it back exactly."""
    if value is None:
        return None
    if isinstance(value, list):
        return "{" + ",".join("NULL" if v is None else repr(v) for v in value) + "}"
    return repr(value)


def _bits(value):
    """A value as comparable bits: floats by their IEEE 754 bytes."""
    if isinstance(value, float):
        return struct.pack(">d", value)
    if isinstance(value, list):
        return tuple(_bits(item) for item in value)
    return value


def test_packing_round_trip_is_bit_identical(warehouse, test_db):
    """Packing rows with store.packed_select and reading them through
    store.unpacked_select gives back every row: the same floats bit for bit
    (NaN, -0.0, infinities, denormals), NULL and empty arrays apart, NULLs
    inside arrays in place, float4 columns still float4."""
    rows = _rows()
    with transaction(test_db.url()) as cur:
        cur.execute(
            "create temp table packing_source (scenario_id text, variable_key text,"
            " k integer, x double precision, f real, arr double precision[],"
            " label text, flag boolean)"
        )
        # floats as text read by float8in/float4in: an SQL literal -0.0 would be
        # numeric 0 negated, +0
        cur.executemany(
            "insert into packing_source values"
            " (%s, %s, %s, %s::double precision, %s::real, %s::double precision[], %s, %s)",
            [(*r[:3], _text(r[3]), _text(r[4]), _text(r[5]), *r[6:]) for r in rows],
        )
        cur.execute(
            "select store.packed_select('pg_temp.packing_source'::regclass,"
            " array['scenario_id', 'variable_key'], array['k'])"
        )
        cur.execute(f"create temp table packing_packed as {cur.fetchone()[0]}")
        cur.execute("select store.unpacked_select('pg_temp.packing_packed'::regclass)")
        unpacked = cur.fetchone()[0]
        cur.execute("select count(*), sum(packed_rows) from packing_packed")
        packed_count, packed_rows = cur.fetchone()
        cur.execute(
            "select column_name, column_type from store.unpacked_columns("
            "'pg_temp.packing_packed'::regclass) order by column_position"
        )
        columns = cur.fetchall()
        # a real widened exactly to double precision (Python reads doubles only)
        cur.execute(
            "select scenario_id, variable_key, k, x, f::double precision, arr, label, flag"
            f" from ({unpacked}) as u"
        )
        back = cur.fetchall()
        cur.execute(f"select pg_typeof(f)::text from ({unpacked}) as u limit 1")
        (f_type,) = cur.fetchone()

    assert packed_count == len({(r[0], r[1]) for r in rows}) == 50
    assert packed_rows == len(rows) == len(back)
    assert columns == [
        ("scenario_id", "text"),
        ("variable_key", "text"),
        ("k", "integer"),
        ("x", "double precision"),
        ("f", "real"),
        ("arr", "double precision[]"),
        ("label", "text"),
        ("flag", "boolean"),
    ]
    assert f_type == "real"
    expected = sorted((tuple(_bits(v) for v in row) for row in rows), key=repr)
    got = sorted((tuple(_bits(v) for v in row) for row in back), key=repr)
    assert got == expected
    # The cases the rows were built to hold are there.
    arrays = [row[5] for row in rows]
    assert None in arrays and [] in arrays and any(a and None in a for a in arrays)


def test_statistics_marts_are_stored_one_row_per_series(warehouse, sql):
    """Each published table of the two statistics marts holds one row per series
    of its scenario, and the mart serves every row those rows pack."""
    for model in ("fct_series_statistics_compact", "fct_year_type_statistics_compact"):
        parts = sql(
            "select parts.scenario_id, parts.relation_name from store.scenario_parts as parts"
            " where parts.model_name = %s"
            " and parts.relation_name in (select relation_name from store.part_readers)",
            (model,),
        )
        assert len(parts) == 3, parts
        for scenario_id, table in parts:
            ((rows, series, packed),) = sql(
                f'select count(*), count(distinct variable_key), sum(packed_rows) from store."{table}"'
            )
            ((served, served_series),) = sql(
                f"select count(*), count(distinct variable_key) from marts.{model}"
                " where scenario_id = %s",
                (scenario_id,),
            )
            assert rows == series == served_series > 0, (table, rows, series)
            assert packed == served > rows, (table, packed, served)
