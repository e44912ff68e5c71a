"""`coeqwal build` on a new, empty database and on an upgraded one. The README
tells users to add a scenario to the seed and build before the first ingest, so
a build with no raw table at all must succeed and serve an empty API; after an
upgrade, a seed whose columns changed must not stop the build."""

from __future__ import annotations

import pytest

from tests.python.conftest import coeqwal, fresh_database, sql_runner

pytestmark = pytest.mark.db


def test_build_before_any_ingest_exits_0_and_serves_empty_views(test_db):
    from coeqwal_tools import localdb

    fresh = fresh_database(test_db, f"{test_db.database}_fresh")
    try:
        proc = coeqwal("build", env={"COEQWAL_DATABASE": fresh.database}, check=False)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        assert "source freshness: nothing loaded yet" in proc.stdout
        assert proc.stderr.strip() == "", proc.stderr
        q = sql_runner(fresh.url())
        assert q("select to_regclass('raw_dss.dss_series')") == [(None,)]
        assert q("select count(*) from api.timeseries") == [(0,)]
        assert q("select count(*) from api.statistics") == [(0,)]
        # the seeds are served: scenarios are listed, none of them loaded
        assert q("select count(*), count(*) filter (where is_loaded) from api.scenarios")[0][0] > 0
        assert q("select count(*) filter (where is_loaded) from api.scenarios") == [(0,)]
    finally:
        localdb.drop_database(fresh)


def test_a_seed_whose_columns_changed_is_reloaded_whole(test_db, warehouse, sql):
    """After an upgrade a seed's CSV may have other columns than its table: dbt's
    truncate-and-insert would fail, so `coeqwal build` reloads that seed whole."""
    from ingest.build import seeds_with_new_columns

    assert seeds_with_new_columns(test_db) == []
    sql("alter table seeds.tier_levels add column legacy_color text")
    assert seeds_with_new_columns(test_db) == ["tier_levels"]
    proc = coeqwal("build", "--select", "tier_levels")
    assert "seeds whose columns changed, reloaded whole: tier_levels" in proc.stdout
    assert seeds_with_new_columns(test_db) == []
    assert sql("select count(*) from seeds.tier_levels") == [(4,)]
