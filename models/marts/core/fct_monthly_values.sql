{{ config(materialized='view') }}

with

series as (
    select * from {{ ref('fct_series_values') }}
),

final as (
    {{ unnest_monthly_values('series') }}
)

select * from final
