{{ config(post_hook=["{{ api_create_exceedance_function() }}"]) }}

{#-
    `GET /statistics`: the general statistics of every loaded series, one row
    per scenario, series, period and statistic (the long view of the
    statistics mart; filter on scenario_id and variable_key, which use its
    primary key). Its post_hook creates `api.exceedance` (`/rpc/exceedance`).
-#}
with

statistics as (
    select * from {{ ref('fct_series_statistics') }}
),

final as (
    select
        statistics.scenario_id,
        statistics.variable_key,
        statistics.period,
        statistics.statistic_code,
        statistics.value_unit,
        statistics.value,
        statistics.value_count,
        statistics.missing_count
    from statistics
)

select * from final
