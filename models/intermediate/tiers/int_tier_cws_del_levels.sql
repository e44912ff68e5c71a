{#-
    CWS_DEL: per loaded scenario and community water system demand unit
    (tier_locations: COEQWAL's 71 units), the percent of demand met in each
    water year (fct_delivery_annual, complete years only: the unit's delivery
    arcs summed, over its demand series where the scenario has it, else over
    delivery + shortage): level 1 if at least 90 % of demand is met in at least
    90 % of the years and no year falls below 70 %; levels 2 and 3 relax the
    three numbers (tier_rule_parameters); else 4. Incomplete years and years
    without demand are missing and left out of the shares; the metric is the
    worst year. A unit needs every delivery arc and its demand or shortage
    series (demand_unit_series); without them, or without any series in
    CalSim3 output, it has no level and says so (unrated_reason).
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

parameters as (
    {{ tier_indicator_parameters('CWS_DEL') }}
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
        case
            when delivery_annual.is_complete_year then delivery_annual.percent_demand_met
        end as value
    from delivery_annual
    inner join demand_units on delivery_annual.delivery_code = demand_units.location_code
    where delivery_annual.delivery_type = 'demand_unit'
),

levels as (
    {{ tier_share_rule_levels(
        'periods', 'parameters', 'worst_year_percent_demand_met', 'PERCENT', 'min'
    ) }}
),

final as (
    {{ tier_rated_results(
        'CWS_DEL', 'levels', 'inputs', 'worst_year_percent_demand_met', 'PERCENT',
        'no complete water year with delivery and demand',
        'no CalSim3 series for this unit'
    ) }}
)

select * from final
