{{ config(post_hook=["{{ api_create_compare_scenarios_function() }}"]) }}

{#-
    The rows of fct_series_comparisons, computed by the same macros, except
    that the baseline is looked up with marts.series_statistics_of: a request
    then plans the requested scenario's partition only, where the marts' view
    plans a scan of every scenario's partition (docs/design.md, "Build and
    publish").
-#}
{%- set series_comparisons_compact = statistics_comparisons_compact_model(
    ref('fct_series_statistics_compact'), baseline_lookup='function'
) %}

with

comparisons as (
    {{ statistics_comparisons_long_model(
        '(' ~ series_comparisons_compact ~ ') as series_comparisons_compact'
    ) }}
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
