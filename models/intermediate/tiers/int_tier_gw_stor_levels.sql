{#-
    GW_STOR: per loaded scenario and water budget area (tier_locations: all
    42), the trend of groundwater storage — the least-squares slope
    (regr_slope) of end-of-September storage (fct_annual_values.sep_value, TAF)
    over water years, in TAF per year — compared with the same area's slope in
    the scenario's baseline (dim_scenarios.baseline_scenario_id; a baseline
    compares with itself). Level 1: stable or rising (slope ≥ −0.5 TAF/yr) and
    at least the baseline's slope; 2: stable or rising but below it (or the
    baseline is not loaded); 3: declining slower than −10 TAF/yr; 4: faster
    (thresholds in tier_rule_parameters, one default rule for every area).
    Years without a September value are left out. An area whose storage series
    is not loaded has no level and says so (unrated_reason).
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

parameters as (
    {{ tier_indicator_parameters('GW_STOR') }}
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

levels as (
    {{ tier_value_rule_levels('metrics', 'parameters', 'storage_trend_slope', 'TAF_PER_YEAR') }}
),

final as (
    {{ tier_rated_results(
        'GW_STOR', 'levels', 'inputs', 'storage_trend_slope', 'TAF_PER_YEAR',
        'fewer than two September storage values', 'no storage series for this area'
    ) }}
)

select * from final
