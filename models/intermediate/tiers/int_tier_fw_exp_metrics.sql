{#-
    One metric per scenario, not a level (the value rule is
    int_tier_rule_levels'). Exports count for less as the Delta gets saltier
    (the weights of tier_rule_parameters), so the volume is weighted month by
    month before it is summed; a month needs both an export volume and an EC.
    All four series are required: a Banks-only volume is not the indicator.
-#}
with

input_locations as (
    {{ tier_indicator_locations('FW_EXP', ['salinity_station', 'export_plant']) }}
),

rated as (
    {{ tier_indicator_locations('FW_EXP', ['rated']) }}
),

rule_parameters as (
    select * from {{ ref('int_tier_rule_parameters') }}
),

{# the weights are the same at every level (assert_tier_thresholds_ordered) #}
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

inputs as (
    select
        rated.location_code,
        input_locations.variable_key as input_group,
        case when input_locations.role = 'export_plant' then 1 else 2 end as group_order,
        1 as key_order,
        input_locations.variable_key
    from input_locations
    cross join rated
),

input_series as (
    {{ tier_location_series('input_locations') }}
),

input_months as (
    {{ unnest_monthly_values('input_series') }}
),

months as (
    select
        input_months.scenario_id,
        input_months.month_date,
        max(input_months.value) filter (
            where input_locations.role = 'salinity_station'
        ) as ec_umhos_cm,
        {#- summed in series order: bit-identical whatever the row order #}
        sum(input_months.value_taf order by input_months.variable_key) filter (
            where input_locations.role = 'export_plant'
        ) as export_taf
    from input_months
    inner join input_locations on input_months.variable_key = input_locations.variable_key
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
            {#- ordered, so that the same months give a bit-identical total
                whatever order the rows arrive in (other scenarios loaded) #}
            order by months.month_date
        ) / 1000 as metric_value,
        null::double precision as baseline_metric_value
    from months
    cross join rated
    inner join weights on rated.location_code = weights.location_code
    group by months.scenario_id, rated.location_code
),

final as (
    {{ tier_tagged_rows(
        'FW_EXP', 'metrics', ['value_count', 'metric_value', 'baseline_metric_value'], 'inputs',
        'weighted_export_volume', 'MAF',
        'no month with both exports and salinity', 'no input series for this location'
    ) }}
)

select * from final
