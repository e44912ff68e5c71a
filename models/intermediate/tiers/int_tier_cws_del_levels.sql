{#-
    CWS_DEL: per scenario and demand unit (tier_locations), the percent of
    demand met in each water year (fct_delivery_annual, complete years only):
    level 1 if at least 90 % of demand is met in at least 90 % of the years and
    no year falls below 70 %; levels 2 and 3 relax the three numbers
    (tier_rule_parameters); else 4. Incomplete years and years without demand
    are missing and left out of the shares; the metric is the worst year.
-#}
with

delivery_annual as (
    select * from {{ ref('fct_delivery_annual') }}
),

demand_units as (
    {{ tier_indicator_locations('CWS_DEL', ['rated']) }}
),

parameters as (
    {{ tier_indicator_parameters('CWS_DEL') }}
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

final as (
    {{ tier_share_rule_levels(
        'periods', 'parameters', 'worst_year_percent_demand_met', 'PERCENT', 'min'
    ) }}
)

select * from final
