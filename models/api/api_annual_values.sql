with

annual_values as (
    select * from {{ ref('fct_annual_values') }}
),

water_years as (
    select * from {{ ref('dim_water_years') }}
),

final as (
    select
        annual_values.scenario_id,
        annual_values.variable_key,
        annual_values.water_year,
        water_years.sac_year_type_abbrev,
        water_years.sjv_year_type_abbrev,
        annual_values.month_count,
        annual_values.total_taf,
        annual_values.mean_value,
        annual_values.min_value,
        annual_values.max_value,
        annual_values.apr_value,
        annual_values.sep_value,
        annual_values.is_complete_year
    from annual_values
    left join water_years
        on annual_values.water_year = water_years.water_year
)

select * from final
