{{ config(post_hook=["{{ api_create_compare_scenarios_function() }}"]) }}

{#-
    `GET /comparisons`: every general statistic of a scenario next to the same
    statistic of its baseline, with the difference and the percent difference.
    Its post_hook creates `api.compare_scenarios` (`/rpc/compare_scenarios`)
    for any two scenarios.
-#}
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
