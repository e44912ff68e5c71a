{#-
    FW_EXP (one result, location DELTA): the export volume of the export plants
    of tier_locations (Banks C_CAA003, Jones C_DMC000; monthly TAF from CFS),
    each month weighted by clip((zero − EC) / (zero − full), 0, 1) with EC the
    larger of the salinity stations' (Emmaton, Jersey Point) and full = 900,
    zero = 2,500 µS/cm (tier_rule_parameters), summed over the run in MAF.
    Level 1 > 505 MAF, 2 ≥ 465, 3 ≥ 400, else 4. A month counts when it has
    an EC and an export volume (value_count says how many did).
-#}
with

rule_parameters as (
    select * from {{ ref('tier_rule_parameters') }}
),

inputs as (
    {{ tier_indicator_locations('FW_EXP', ['salinity_station', 'export_plant']) }}
),

rated as (
    {{ tier_indicator_locations('FW_EXP', ['rated']) }}
),

parameters as (
    {{ tier_indicator_parameters('FW_EXP') }}
),

weights as (
    select
        rule_parameters.location_code,
        rule_parameters.full_weight_below,
        rule_parameters.zero_weight_above
    from rule_parameters
    where
        rule_parameters.indicator_code = 'FW_EXP'
        and rule_parameters.tier_level = 1
),

input_series as (
    {{ tier_location_series('inputs') }}
),

input_months as (
    {{ unnest_monthly_values('input_series') }}
),

months as (
    select
        input_months.scenario_id,
        input_months.month_date,
        max(input_months.value) filter (where inputs.role = 'salinity_station') as ec_umhos_cm,
        sum(input_months.value_taf) filter (where inputs.role = 'export_plant') as export_taf
    from input_months
    inner join inputs on input_months.variable_key = inputs.variable_key
    group by input_months.scenario_id, input_months.month_date
),

metrics as (
    select
        months.scenario_id,
        rated.location_code,
        count(months.export_taf * months.ec_umhos_cm)::integer as value_count,
        sum(
            months.export_taf
            * least(
                greatest(
                    (weights.zero_weight_above - months.ec_umhos_cm)
                    / (weights.zero_weight_above - weights.full_weight_below),
                    0
                ),
                1
            )
        ) / 1000 as metric_value,
        null::double precision as baseline_metric_value
    from months
    cross join rated
    inner join weights on rated.location_code = weights.location_code
    group by months.scenario_id, rated.location_code
),

final as (
    {{ tier_value_rule_levels('metrics', 'parameters', 'weighted_export_volume', 'MAF') }}
)

select * from final
