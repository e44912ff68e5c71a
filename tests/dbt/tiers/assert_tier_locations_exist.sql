-- Every tier location exists in its entity seed (reservoirs, demand units,
-- water budget areas; Delta stations and systems as the entity_code of a
-- variable of that entity type), the series it names exists in `variables`
-- and a rated reservoir is a tier reservoir; every computed or single-value
-- indicator has a rated location. (A rated demand unit needs no series: one
-- without any in demand_unit_series gets a row saying so.)

with

locations as (
    select * from {{ ref('tier_locations') }}
),

indicators as (
    select * from {{ ref('tier_indicators') }}
),

reservoirs as (
    select * from {{ ref('reservoirs') }}
),

demand_units as (
    select * from {{ ref('demand_units') }}
),

water_budget_areas as (
    select * from {{ ref('water_budget_areas') }}
),

variables as (
    select * from {{ ref('variables') }}
),

entities as (
    select
        'reservoir' as location_type,
        reservoirs.reservoir_code as entity_code,
        reservoirs.is_tier_reservoir as is_eligible
    from reservoirs
    union all
    select
        'demand_unit' as location_type,
        demand_units.du_code as entity_code,
        true as is_eligible
    from demand_units
    union all
    select
        'water_budget_area' as location_type,
        water_budget_areas.wba_code as entity_code,
        true as is_eligible
    from water_budget_areas
    union all
    select distinct
        variables.entity_type as location_type,
        variables.entity_code,
        true as is_eligible
    from variables
    where variables.entity_type in ('delta_station', 'system')
),

missing_entities as (
    select
        locations.indicator_code,
        locations.location_code,
        case
            when entities.entity_code is null then 'no such ' || locations.location_type
            else 'not eligible (not a tier reservoir)'
        end as problem
    from locations
    left join entities
        on
            locations.location_type = entities.location_type
            and locations.location_code = entities.entity_code
    where
        entities.entity_code is null
        or (locations.role = 'rated' and not entities.is_eligible)
),

missing_variables as (
    select
        locations.indicator_code,
        locations.location_code,
        'no variable ' || locations.b_part || '/' || locations.c_part as problem
    from locations
    left join variables
        on
            locations.b_part = variables.b_part
            and locations.c_part = variables.c_part
    where
        locations.b_part is not null
        and variables.b_part is null
),

unlocated_indicators as (
    select
        indicators.indicator_code,
        null as location_code,
        'no rated location' as problem
    from indicators
    where
        (indicators.result_source = 'computed' or indicators.tier_type = 'single_value')
        and not exists (
            select locations.location_code
            from locations
            where
                locations.indicator_code = indicators.indicator_code
                and locations.role = 'rated'
        )
),

final as (
    select * from missing_entities
    union all
    select * from missing_variables
    union all
    select * from unlocated_indicators
)

select * from final
