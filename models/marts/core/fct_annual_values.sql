{{ config(materialized='view') }}

with

compact as (
    select * from {{ ref('fct_annual_values_compact') }}
),

final as (
    select
        compact.scenario_id,
        compact.variable_key,
        compact.start_water_year + years.year_index::integer - 1 as water_year,
        years.month_count::integer as month_count,
        case when years.month_count = 12 then years.months_sum_taf end as total_taf,
        years.months_sum_taf,
        years.mean_value,
        years.min_value,
        years.max_value,
        years.apr_value,
        years.sep_value,
        years.month_count = 12 as is_complete_year,
        compact.loaded_at
    from compact
    cross join lateral unnest(
        compact.month_counts,
        compact.months_sums_taf,
        compact.mean_values,
        coalesce(compact.min_values_f8, compact.min_values_f4::double precision[]),
        coalesce(compact.max_values_f8, compact.max_values_f4::double precision[]),
        coalesce(compact.apr_values_f8, compact.apr_values_f4::double precision[]),
        coalesce(compact.sep_values_f8, compact.sep_values_f4::double precision[])
    ) with ordinality as years (
        month_count,
        months_sum_taf,
        mean_value,
        min_value,
        max_value,
        apr_value,
        sep_value,
        year_index
    )
)

select * from final
