{#-
    FW_EXP (one result, location DELTA): the export volume of the export plants
    of tier_locations (Banks C_CAA003, Jones C_DMC000; monthly TAF from CFS),
    each month weighted by clip((zero − EC) / (zero − full), 0, 1) with EC the
    larger of the salinity stations' (Emmaton, Jersey Point) and full = 900,
    zero = 2,500 µS/cm (tier_rule_parameters), summed over the run in MAF.
    Level 1 > 505 MAF, 2 ≥ 465, 3 ≥ 400, else 4. A month counts when it has
    an EC and an export volume (value_count says how many did). All four
    series are required: without one the result has no level and says which
    is missing (unrated_reason).
-#}
with

input_locations as (
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
        parameters.location_code,
        parameters.full_weight_below,
        parameters.zero_weight_above
    from parameters
    where parameters.tier_level = 1
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
        sum(input_months.value_taf) filter (
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

levels as (
    {{ tier_value_rule_levels('metrics', 'parameters', 'weighted_export_volume', 'MAF') }}
),

final as (
    {{ tier_rated_results(
        'FW_EXP', 'levels', 'inputs', 'weighted_export_volume', 'MAF',
        'no month with both exports and salinity', 'no input series for this location'
    ) }}
)

select * from final
