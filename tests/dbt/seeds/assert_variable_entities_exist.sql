-- A variable's entity_code must name a row of the seed its entity_type points
-- at (reservoirs, demand units, delivery aggregates, water budget areas).

with

variables as (
    select * from {{ ref('variables') }}
),

reservoirs as (
    select * from {{ ref('reservoirs') }}
),

demand_units as (
    select * from {{ ref('demand_units') }}
),

delivery_aggregates as (
    select * from {{ ref('delivery_aggregates') }}
),

water_budget_areas as (
    select * from {{ ref('water_budget_areas') }}
),

entities as (
    select
        'reservoir' as entity_type,
        reservoir_code as entity_code
    from reservoirs
    union all
    select
        'demand_unit' as entity_type,
        du_code as entity_code
    from demand_units
    union all
    select
        'delivery_aggregate' as entity_type,
        aggregate_code as entity_code
    from delivery_aggregates
    union all
    select
        'water_budget_area' as entity_type,
        wba_code as entity_code
    from water_budget_areas
),

final as (
    select
        variables.b_part,
        variables.c_part,
        variables.entity_type,
        variables.entity_code
    from variables
    left join entities
        on
            variables.entity_type = entities.entity_type
            and variables.entity_code = entities.entity_code
    where
        variables.entity_type in (
            'reservoir', 'demand_unit', 'delivery_aggregate', 'water_budget_area'
        )
        and entities.entity_code is null
)

select * from final
