{{
    config(
        pre_hook="set local work_mem = '256MB'",
        packed_by=['variable_key'],
        post_hook=[
            "{{ statistics_create_exceedance_curve_function() }}",
            "{{ statistics_create_series_statistics_of_function() }}"
        ]
    )
}}

{#-
    One pass per series over its array, no long table: the values are unnested
    once, grouped by water month and overall, each group sorted once, and every
    percentile and exceedance level read off the sorted array.
    packed_by: stored as one row per series, read back as these rows
    (docs/design.md, "Storage per scenario").
    pre_hook: work_mem 256MB (this transaction only) keeps the sorts in memory.
    JIT stays on: ~3 s of compilation per build, ~15 % faster at full size
    (measured on the year types: 55 s vs 64-67 s).
-#}

{%- set water_month_of_value = water_month_at(
    'selected_series.start_water_month', 'month_values.month_index'
) %}

{#- The scenarios this run computes (metadata; none on a first build). #}
{%- set to_build = statistics_to_build_ids('series_parameters_hash') %}

with

series as (
    select * from {{ ref('fct_series_values') }}
),

annual_values as (
    select * from {{ ref('int_annual_values_selected') }}
),

parameters as (
    select * from {{ ref('int_statistics_parameters') }}
),

parameter_hashes as (
    select * from {{ ref('int_statistics_parameter_hashes') }}
),

selected_series as (
    select
        series.scenario_id,
        series.variable_key,
        series.unit_code,
        series.monthly_values,
        series.loaded_at,
        {{ water_month('series.start_month') }} as start_water_month
    from series
    where {{ statistics_is_to_build('series.scenario_id', to_build) }}
),

monthly_groups as (
    select
        selected_series.scenario_id,
        selected_series.variable_key,
        coalesce(grouped.water_month::text, 'all') as period,
        selected_series.unit_code as value_unit,
        grouped.value_count,
        grouped.missing_count,
        grouped.mean,
        grouped.sd,
        grouped.sorted_values,
        selected_series.loaded_at
    from selected_series
    cross join lateral (
        select
            {{ water_month_of_value }} as water_month,
            {{ statistics_group_moments('month_values.value') }}
        from
            unnest(selected_series.monthly_values) with ordinality
                as month_values (value, month_index)
        group by grouping sets (({{ water_month_of_value }}), ())
    ) as grouped
),

{# Per series (a lateral on the primary key of fct_annual_values_compact, one
   row of arrays unnested), not one big sort of every annual value by text keys. #}
annual_groups as (
    select
        selected_series.scenario_id,
        selected_series.variable_key,
        'annual' as period,
        grouped.value_unit,
        grouped.value_count,
        grouped.missing_count,
        grouped.mean,
        grouped.sd,
        grouped.sorted_values,
        selected_series.loaded_at
    from selected_series
    cross join lateral (
        select
            min(annual_values.value_unit) as value_unit,
            {{ statistics_group_moments(
                'annual_values.annual_value', 'annual_values.is_counted'
            ) }}
        from annual_values
        where
            annual_values.scenario_id = selected_series.scenario_id
            and annual_values.variable_key = selected_series.variable_key
        having count(*) > 0
    ) as grouped
),

period_groups as (
    select * from monthly_groups
    union all
    select * from annual_groups
),

final as (
    select
        period_groups.scenario_id,
        period_groups.variable_key,
        period_groups.period,
        period_groups.value_unit,
        period_groups.value_count,
        period_groups.missing_count,
        period_groups.mean,
        period_groups.sd,
        {{ statistics_cv('period_groups.sd', 'period_groups.mean', 'parameters.cv_mean_guard') }}
            as cv,
        {{ statistics_quantile_array(
            'period_groups.sorted_values', 'period_groups.value_count', 'parameters'
        ) }} as quantile_values,
        parameter_hashes.series_parameters_hash as parameters_hash,
        period_groups.loaded_at
    from period_groups
    cross join parameters
    cross join parameter_hashes
)

select * from final
