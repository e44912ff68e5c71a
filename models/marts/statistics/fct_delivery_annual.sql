{#-
    Annual delivery, shortage and demand (= delivery + shortage) in TAF per
    scenario, delivery (delivery aggregates and demand units from the seeds) and
    water year: each the water-year sum of the series' monthly volumes
    (fct_annual_values.total_taf, from value_taf). Percent of demand met =
    100 x delivery / demand (NULL when demand is 0); a shortage year has a
    shortage strictly above statistics_parameters.shortage_year_threshold_taf.
    A year is complete when both series have at least annual_min_months values;
    the delivery statistics use complete years only. Demand units without a
    delivery variable in the seed are left out.
-#}
with

aggregates as (
    select * from {{ ref('delivery_aggregates') }}
),

demand_units as (
    select * from {{ ref('demand_units') }}
),

annual as (
    select * from {{ ref('fct_annual_values') }}
),

series as (
    select * from {{ ref('fct_series_values') }}
),

parameters as (
    select
        statistics_parameters.shortage_year_threshold_taf,
        statistics_parameters.annual_min_months,
        parameter_hashes.delivery_parameters_hash as parameters_hash
    from {{ ref('int_statistics_parameters') }} as statistics_parameters
    cross join {{ ref('int_statistics_parameter_hashes') }} as parameter_hashes
),

scenarios_to_build as (
    {{ statistics_scenarios_to_build(
        'series', '(select parameters.parameters_hash from parameters)'
    ) }}
),

deliveries as (
    select
        aggregates.aggregate_code as delivery_code,
        'delivery_aggregate' as delivery_type,
        aggregates.delivery_b_part || '/' || aggregates.delivery_c_part as delivery_variable_key,
        aggregates.shortage_b_part || '/' || aggregates.shortage_c_part as shortage_variable_key
    from aggregates
    union all
    select
        demand_units.du_code as delivery_code,
        'demand_unit' as delivery_type,
        demand_units.delivery_b_part || '/' || demand_units.delivery_c_part
            as delivery_variable_key,
        demand_units.shortage_b_part || '/' || demand_units.shortage_c_part as shortage_variable_key
    from demand_units
    where demand_units.delivery_b_part is not null
),

selected_annual as (
    select
        annual.scenario_id,
        annual.variable_key,
        annual.water_year,
        annual.month_count,
        annual.total_taf,
        annual.loaded_at
    from annual
    where
        {#- `= any(array(...))` keeps the scan of fct_annual_values selective. #}
        annual.variable_key = any(
            array(
                select listed.delivery_variable_key as variable_key from deliveries as listed
                union all
                select listed.shortage_variable_key as variable_key from deliveries as listed
            )
        )
        and {{ statistics_is_to_build('annual.scenario_id') }}
),

delivery_years as (
    select
        selected_annual.scenario_id,
        deliveries.delivery_code,
        selected_annual.water_year,
        selected_annual.total_taf as delivery_taf,
        selected_annual.month_count,
        selected_annual.loaded_at
    from selected_annual
    inner join deliveries on selected_annual.variable_key = deliveries.delivery_variable_key
),

shortage_years as (
    select
        selected_annual.scenario_id,
        deliveries.delivery_code,
        selected_annual.water_year,
        selected_annual.total_taf as shortage_taf,
        selected_annual.month_count,
        selected_annual.loaded_at
    from selected_annual
    inner join deliveries on selected_annual.variable_key = deliveries.shortage_variable_key
),

joined as (
    select
        coalesce(delivery_years.scenario_id, shortage_years.scenario_id) as scenario_id,
        coalesce(delivery_years.delivery_code, shortage_years.delivery_code) as delivery_code,
        coalesce(delivery_years.water_year, shortage_years.water_year) as water_year,
        delivery_years.delivery_taf,
        shortage_years.shortage_taf,
        coalesce(delivery_years.month_count, 0) as delivery_month_count,
        coalesce(shortage_years.month_count, 0) as shortage_month_count,
        greatest(delivery_years.loaded_at, shortage_years.loaded_at) as loaded_at
    from delivery_years
    full outer join shortage_years
        on
            delivery_years.scenario_id = shortage_years.scenario_id
            and delivery_years.delivery_code = shortage_years.delivery_code
            and delivery_years.water_year = shortage_years.water_year
),

final as (
    select
        joined.scenario_id,
        joined.delivery_code,
        joined.water_year,
        deliveries.delivery_type,
        joined.delivery_taf,
        joined.shortage_taf,
        joined.delivery_taf + joined.shortage_taf as demand_taf,
        case
            when joined.delivery_taf + joined.shortage_taf <> 0
                then 100 * joined.delivery_taf / (joined.delivery_taf + joined.shortage_taf)
        end as percent_demand_met,
        joined.shortage_taf > parameters.shortage_year_threshold_taf as is_shortage_year,
        (
            joined.delivery_month_count >= parameters.annual_min_months
            and joined.shortage_month_count >= parameters.annual_min_months
        ) as is_complete_year,
        parameters.parameters_hash,
        joined.loaded_at
    from joined
    inner join deliveries on joined.delivery_code = deliveries.delivery_code
    cross join parameters
)

select * from final
