{#-
    One metric per scenario and area, not a level (the value rule is
    int_tier_rule_levels'). The baseline's slope travels with the scenario's
    because level 1 asks for "at least the baseline" (a baseline compares with
    itself; an unloaded baseline leaves it NULL, which the rule reads as not
    met).
-#}
with

annual as (
    select * from {{ ref('fct_annual_values') }}
),

scenarios as (
    select * from {{ ref('dim_scenarios') }}
),

areas as (
    {{ tier_indicator_locations('GW_STOR', ['rated']) }}
),

inputs as (
    select
        areas.location_code,
        areas.variable_key as input_group,
        1 as group_order,
        1 as key_order,
        areas.variable_key
    from areas
),

slopes as (
    select
        annual.scenario_id,
        areas.location_code,
        count(annual.sep_value)::integer as value_count,
        {#- ordered, so that identical series give bit-identical slopes (the
            baseline comparison is exact) whatever order the rows arrive in. #}
        regr_slope(annual.sep_value, annual.water_year order by annual.water_year)
            as slope_taf_per_year
    from annual
    inner join areas on annual.variable_key = areas.variable_key
    where annual.variable_key = any(array(select listed.variable_key from areas as listed))
    group by annual.scenario_id, areas.location_code
),

metrics as (
    select
        slopes.scenario_id,
        slopes.location_code,
        slopes.value_count,
        slopes.slope_taf_per_year as metric_value,
        baseline_slopes.slope_taf_per_year as baseline_metric_value
    from slopes
    inner join scenarios on slopes.scenario_id = scenarios.scenario_id
    left join slopes as baseline_slopes
        on
            coalesce(scenarios.baseline_scenario_id, scenarios.scenario_id)
            = baseline_slopes.scenario_id
            and slopes.location_code = baseline_slopes.location_code
),

final as (
    {{ tier_tagged_rows(
        'GW_STOR', 'metrics', ['value_count', 'metric_value', 'baseline_metric_value'], 'inputs',
        'storage_trend_slope', 'TAF_PER_YEAR',
        'fewer than two September storage values', 'no storage series for this area'
    ) }}
)

select * from final
