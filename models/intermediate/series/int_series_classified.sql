with

series as (
    select * from {{ ref('stg_dss__series') }}
),

variables as (
    select * from {{ ref('variables') }}
),

units as (
    select * from {{ ref('units') }}
),

ranked as (
    select
        series.*,
        row_number() over (
            partition by series.scenario_id, series.series_key
            order by case series.file_role when 'DV' then 1 when 'SV' then 2 else 3 end
        ) as file_rank
    from series
),

final as (
    select
        ranked.scenario_id,
        ranked.series_key as variable_key,
        ranked.file_role,
        ranked.variable_code as b_part,
        ranked.kind_code as c_part,
        ranked.units as unit_code,
        coalesce(variables.kind, 'undescribed') as kind,
        ranked.month_count,
        ranked.missing_count,
        units.taf_per_cfs_day::double precision as taf_per_cfs_day,
        ranked.monthly_values,
        ranked.monthly_values_f4,
        ranked.monthly_values_f8,
        coalesce(units.is_flow, false) as is_flow,
        variables.b_part is not null as is_described,
        ranked.start_month,
        ranked.loaded_at
    from ranked
    left join variables
        on
            ranked.variable_code = variables.b_part
            and ranked.kind_code = variables.c_part
    left join units on ranked.units = units.unit_code
    where ranked.file_rank = 1
)

select * from final
