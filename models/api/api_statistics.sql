{{ config(post_hook=["{{ api_create_exceedance_function() }}"]) }}

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
