{#-
    Reconciliation of the raw loads with the raw series: every scenario with
    series has one load row and every load row has series, with the latest
    load time and the series count of its rows. A build trusts stg_dss__loads
    to find what changed; this reads every series, so `coeqwal audit` runs it.
-#}
{{ config(tags=['audit']) }}
with

from_series as (
    select
        scenario_id,
        max(loaded_at) as loaded_at,
        count(*)::integer as series_count
    from {{ ref('stg_dss__series') }}
    group by scenario_id
),

loads as (
    select * from {{ ref('stg_dss__loads') }}
)

select
    coalesce(from_series.scenario_id, loads.scenario_id) as scenario_id,
    from_series.loaded_at as series_loaded_at,
    loads.loaded_at as recorded_loaded_at,
    from_series.series_count,
    loads.series_count as recorded_series_count
from from_series
full outer join loads on from_series.scenario_id = loads.scenario_id
where
    from_series.loaded_at is distinct from loads.loaded_at
    or from_series.series_count is distinct from loads.series_count
