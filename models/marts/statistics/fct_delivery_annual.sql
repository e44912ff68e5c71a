{#- The scenarios this run computes (metadata; none on a first build). #}
{%- set to_build = statistics_to_build_ids('delivery_parameters_hash') %}

with

aggregates as (
    select * from {{ ref('delivery_aggregates') }}
),

unit_series as (
    select * from {{ ref('demand_unit_series') }}
),

annual as (
    select * from {{ ref('fct_annual_values') }}
),

parameters as (
    select
        statistics_parameters.shortage_year_threshold_taf,
        statistics_parameters.annual_min_months,
        parameter_hashes.delivery_parameters_hash as parameters_hash
    from {{ ref('int_statistics_parameters') }} as statistics_parameters
    cross join {{ ref('int_statistics_parameter_hashes') }} as parameter_hashes
),

{# every series of every delivery with its role, and how many series the
    role has (the delivery arcs of a demand unit are summed) #}
delivery_series as (
    select
        aggregates.aggregate_code as delivery_code,
        'delivery_aggregate' as delivery_type,
        'delivery' as series_role,
        aggregates.delivery_b_part || '/' || aggregates.delivery_c_part as variable_key
    from aggregates
    union all
    select
        aggregates.aggregate_code as delivery_code,
        'delivery_aggregate' as delivery_type,
        'shortage' as series_role,
        aggregates.shortage_b_part || '/' || aggregates.shortage_c_part as variable_key
    from aggregates
    union all
    select
        unit_series.du_code as delivery_code,
        'demand_unit' as delivery_type,
        unit_series.series_role,
        unit_series.b_part || '/' || unit_series.c_part as variable_key
    from unit_series
),

role_sizes as (
    select
        delivery_series.delivery_code,
        delivery_series.series_role,
        count(*)::integer as series_count
    from delivery_series
    group by delivery_series.delivery_code, delivery_series.series_role
),

selected_annual as (
    select
        annual.scenario_id,
        annual.variable_key,
        annual.water_year,
        annual.month_count,
        {#- the sum of the months present: whether a year counts is decided
            below by annual_min_months, as for every annual statistic #}
        annual.months_sum_taf as total_taf,
        annual.loaded_at
    from annual
    where
        {#- `= any(array(...))` keeps the scan on fct_annual_values_compact's key. #}
        annual.variable_key = any(array(select listed.variable_key from delivery_series as listed))
        and {{ statistics_is_to_build('annual.scenario_id', to_build) }}
),

{# one row per scenario, delivery, role and year: the role's volume when
    every series of the role has the year, else NULL (month count 0) #}
role_years as (
    select
        selected_annual.scenario_id,
        delivery_series.delivery_code,
        delivery_series.series_role,
        selected_annual.water_year,
        case
            when count(*) = min(role_sizes.series_count)
                {#- summed in series order: bit-identical whatever the row order #}
                then sum(selected_annual.total_taf order by selected_annual.variable_key)
        end as total_taf,
        case
            when count(*) = min(role_sizes.series_count) then min(selected_annual.month_count)
            else 0
        end as month_count,
        max(selected_annual.loaded_at) as loaded_at
    from selected_annual
    inner join delivery_series on selected_annual.variable_key = delivery_series.variable_key
    inner join role_sizes
        on
            delivery_series.delivery_code = role_sizes.delivery_code
            and delivery_series.series_role = role_sizes.series_role
    group by
        selected_annual.scenario_id,
        delivery_series.delivery_code,
        delivery_series.series_role,
        selected_annual.water_year
),

joined as (
    select
        role_years.scenario_id,
        role_years.delivery_code,
        role_years.water_year,
        max(role_years.total_taf) filter (where role_years.series_role = 'delivery')
            as delivery_taf,
        max(role_years.total_taf) filter (where role_years.series_role = 'shortage')
            as shortage_taf,
        max(role_years.total_taf) filter (where role_years.series_role = 'demand')
            as demand_series_taf,
        coalesce(
            max(role_years.month_count) filter (where role_years.series_role = 'delivery'), 0
        ) as delivery_month_count,
        coalesce(
            max(role_years.month_count) filter (where role_years.series_role = 'shortage'), 0
        ) as shortage_month_count,
        coalesce(
            max(role_years.month_count) filter (where role_years.series_role = 'demand'), 0
        ) as demand_month_count,
        max(role_years.loaded_at) as loaded_at
    from role_years
    group by role_years.scenario_id, role_years.delivery_code, role_years.water_year
),

{# the scenario has the delivery's demand series (in any year) #}
demand_bases as (
    select distinct
        role_years.scenario_id,
        role_years.delivery_code
    from role_years
    where role_years.series_role = 'demand'
),

based as (
    select
        joined.scenario_id,
        joined.delivery_code,
        joined.water_year,
        joined.delivery_taf,
        joined.shortage_taf,
        case
            when demand_bases.delivery_code is not null then 'demand_series'
            else 'delivery_plus_shortage'
        end as demand_basis,
        case
            when demand_bases.delivery_code is not null then joined.demand_series_taf
            else joined.delivery_taf + joined.shortage_taf
        end as demand_taf,
        joined.delivery_month_count,
        case
            when demand_bases.delivery_code is not null then joined.demand_month_count
            else joined.shortage_month_count
        end as demand_month_count,
        joined.loaded_at
    from joined
    left join demand_bases
        on
            joined.scenario_id = demand_bases.scenario_id
            and joined.delivery_code = demand_bases.delivery_code
),

delivery_types as (
    select distinct
        delivery_series.delivery_code,
        delivery_series.delivery_type
    from delivery_series
),

final as (
    select
        based.scenario_id,
        based.delivery_code,
        based.water_year,
        delivery_types.delivery_type,
        based.delivery_taf,
        based.shortage_taf,
        based.demand_taf,
        based.demand_basis,
        case
            when based.demand_taf <> 0 then 100 * based.delivery_taf / based.demand_taf
        end as percent_demand_met,
        based.shortage_taf > parameters.shortage_year_threshold_taf as is_shortage_year,
        (
            based.delivery_month_count >= parameters.annual_min_months
            and based.demand_month_count >= parameters.annual_min_months
        ) as is_complete_year,
        parameters.parameters_hash,
        based.loaded_at
    from based
    inner join delivery_types on based.delivery_code = delivery_types.delivery_code
    cross join parameters
)

select * from final
