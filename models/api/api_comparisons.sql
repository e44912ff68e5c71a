{{ config(post_hook=["{{ api_create_compare_scenarios_function() }}"]) }}

with

comparisons as (
    select * from {{ ref('fct_series_comparisons') }}
),

final as (
    select
        comparisons.scenario_id,
        comparisons.variable_key,
        comparisons.period,
        comparisons.statistic_code,
        comparisons.baseline_scenario_id,
        comparisons.value_unit,
        comparisons.value,
        comparisons.baseline_value,
        comparisons.difference,
        comparisons.percent_difference
    from comparisons
)

select * from final
