-- Every rated location of a computed indicator has rule parameters, and every
-- parameter row belongs to a rated location of a computed indicator (a
-- location without parameters would silently fall to level 4).

with

locations as (
    select * from {{ ref('tier_locations') }}
),

indicators as (
    select * from {{ ref('tier_indicators') }}
),

parameters as (
    select * from {{ ref('tier_rule_parameters') }}
),

rated as (
    select
        locations.indicator_code,
        locations.location_code
    from locations
    inner join indicators on locations.indicator_code = indicators.indicator_code
    where
        locations.role = 'rated'
        and indicators.result_source = 'computed'
),

parameterised as (
    select distinct
        parameters.indicator_code,
        parameters.location_code
    from parameters
),

final as (
    select
        coalesce(rated.indicator_code, parameterised.indicator_code) as indicator_code,
        coalesce(rated.location_code, parameterised.location_code) as location_code,
        case
            when parameterised.location_code is null then 'rated location without parameters'
            else 'parameters for a location that is not rated'
        end as problem
    from rated
    full outer join parameterised
        on
            rated.indicator_code = parameterised.indicator_code
            and rated.location_code = parameterised.location_code
    where rated.location_code is null or parameterised.location_code is null
)

select * from final
