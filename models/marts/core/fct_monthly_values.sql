{{ config(materialized='view') }}

{#-
    The long shape analysts query: one row per scenario, series and month, read
    from the compact per-series arrays of fct_series_values (a view, so the
    values are stored once instead of ~44 bytes each in a long table).
-#}
with

series as (
    select * from {{ ref('fct_series_values') }}
),

final as (
    {{ unnest_monthly_values('series') }}
)

select * from final
