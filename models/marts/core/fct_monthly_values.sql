{{ config(materialized='view') }}

{#-
    The long shape analysts query: one row per scenario, series and month, read
    from the compact per-series arrays of fct_series_values (a view, so the
    values are stored once, ~4 bytes each, instead of ~44 in a long table). Months are counted from the series' start month (values
    are positional in a regular DSS series); flows also get their monthly volume
    in TAF. Storage (TAF) and every non-flow unit are never converted.
-#}
with

series as (
    select * from {{ ref('fct_series_values') }}
),

unnested as (
    select
        series.scenario_id,
        series.variable_key,
        series.taf_per_cfs_day,
        vals.value,
        (series.start_month + (vals.month_index - 1) * interval '1 month')::date as month_date
    from series
    cross join lateral unnest(series.monthly_values) with ordinality as vals (value, month_index)
),

final as (
    select
        scenario_id,
        variable_key,
        month_date,
        {{ water_year('month_date') }} as water_year,
        {{ water_month('month_date') }} as water_month,
        value::double precision as value,
        {{ cfs_to_taf('value', 'month_date', 'taf_per_cfs_day') }} as value_taf
    from unnested
)

select * from final
