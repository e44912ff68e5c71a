with

sources as (
    select * from {{ ref('year_type_sources') }}
),

water_years as (
    select * from {{ ref('dim_water_years') }}
),

scenarios as (
    select * from {{ ref('dim_scenarios') }}
),

monthly as (
    select * from {{ ref('fct_monthly_values') }}
),

official as (
    select
        scenarios.scenario_id,
        sources.year_type_source,
        water_years.water_year,
        water_years.sac_year_type_code as year_type_code
    from scenarios
    cross join sources
    cross join water_years
    where
        scenarios.is_loaded
        and sources.b_part is null
),

modelled as (
    select
        monthly.scenario_id,
        sources.year_type_source,
        monthly.water_year,
        round(monthly.value)::integer as year_type_code
    from sources
    inner join monthly
        on
            monthly.variable_key = sources.b_part || '/' || sources.c_part
            and extract(month from monthly.month_date) = sources.calendar_month
    where
        {#- `= any(array(...))` keeps the scan on the year-type series only (a join
            alone is planned after unnesting every series). #}
        monthly.variable_key = any(
            array(
                select model_sources.b_part || '/' || model_sources.c_part as variable_key
                from sources as model_sources
                where model_sources.b_part is not null
            )
        )
        and round(monthly.value) between 1 and 5
),

final as (
    select * from official
    union all
    select * from modelled
)

select * from final
