with

series as (
    select * from {{ ref('stg_dss__series') }}
),

units as (
    select * from {{ ref('units') }}
),

with_factor as (
    select
        series.scenario_id,
        series.file_role,
        series.series_key as variable_key,
        series.start_month,
        series.monthly_values,
        units.taf_per_cfs_day::double precision as taf_per_cfs_day
    from series
    left join units on series.units = units.unit_code
),

final as (
    {{ unnest_monthly_values('with_factor', extra_columns=['file_role']) }}
)

select * from final
