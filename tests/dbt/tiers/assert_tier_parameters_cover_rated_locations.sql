-- Every rated location of a computed indicator has rule parameters, its own
-- or the indicator's default rows (location_code `*`), and every parameter
-- row belongs to a rated location of a computed indicator or is the default
-- of a computed indicator (a location without parameters would get no level).

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

unparameterised as (
    select
        rated.indicator_code,
        rated.location_code,
        'rated location without parameters (own or default)' as problem
    from rated
    where not exists (
        select parameterised.location_code
        from parameterised
        where
            parameterised.indicator_code = rated.indicator_code
            and parameterised.location_code in (rated.location_code, '*')
    )
),

stray as (
    select
        parameterised.indicator_code,
        parameterised.location_code,
        case
            when parameterised.location_code = '*'
                then 'default parameters for an indicator that is not computed'
            else 'parameters for a location that is not rated'
        end as problem
    from parameterised
    where not exists (
        select rated.location_code
        from rated
        where
            rated.indicator_code = parameterised.indicator_code
            and parameterised.location_code in ('*', rated.location_code)
    )
),

final as (
    select * from unparameterised
    union all
    select * from stray
)

select * from final
