{#-
    Years, not a level (the rule is int_tier_rule_levels'): which years count
    and what is required. An incomplete year is a missing year, not a bad one,
    so it stays out of the shares. A unit is rated only with every delivery
    arc and its demand (or, lacking it, its shortage) series: a partial sum
    would understate deliveries.
-#}
with

delivery_annual as (
    select * from {{ ref('fct_delivery_annual') }}
),

unit_series as (
    select * from {{ ref('demand_unit_series') }}
),

demand_units as (
    {{ tier_indicator_locations('CWS_DEL', ['rated']) }}
),

{# every delivery arc is required on its own; the demand or the shortage
    series is one requirement, met by either. #}
inputs as (
    select
        unit_series.du_code as location_code,
        case
            when unit_series.series_role = 'delivery'
                then unit_series.b_part || '/' || unit_series.c_part
            else 'demand'
        end as input_group,
        case when unit_series.series_role = 'delivery' then 1 else 2 end as group_order,
        case when unit_series.series_role = 'demand' then 1 else 2 end as key_order,
        unit_series.b_part || '/' || unit_series.c_part as variable_key
    from unit_series
),

periods as (
    select
        delivery_annual.scenario_id,
        demand_units.location_code,
        delivery_annual.water_year,
        null::date as month_date,
        case
            when delivery_annual.is_complete_year then delivery_annual.percent_demand_met
        end as value
    from delivery_annual
    inner join demand_units on delivery_annual.delivery_code = demand_units.location_code
    where delivery_annual.delivery_type = 'demand_unit'
),

final as (
    {{ tier_tagged_rows(
        'CWS_DEL', 'periods', ['water_year', 'month_date', 'value'], 'inputs',
        'worst_year_percent_demand_met', 'PERCENT',
        'no complete water year with delivery and demand',
        'no CalSim3 series for this unit'
    ) }}
)

select * from final
