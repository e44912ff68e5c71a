{{ config(materialized='view') }}

with

compact as (
    select * from {{ ref('fct_series_values_compact') }}
),

final as (
    select
        compact.scenario_id,
        compact.variable_key,
        compact.file_role,
        compact.b_part,
        compact.c_part,
        compact.unit_code,
        compact.kind,
        compact.month_count,
        compact.missing_count,
        compact.taf_per_cfs_day::double precision as taf_per_cfs_day,
        coalesce(
            compact.monthly_values_f8, compact.monthly_values_f4::double precision[]
        ) as monthly_values,
        compact.is_flow,
        compact.is_described,
        compact.start_month,
        compact.loaded_at
    from compact
)

select * from final
