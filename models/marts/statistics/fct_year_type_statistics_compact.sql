{{
    config(
        pre_hook="set local work_mem = '256MB'",
        packed_by=['variable_key']
    )
}}

{#-
    packed_by: stored as one row per series, read back as these rows
    (docs/design.md, "Storage per scenario").
    pre_hook: work_mem 256MB (this transaction only) keeps the per-group sorts
    in memory. JIT stays on: ~3 s of compilation per build, ~15 % faster at full
    size (measured 55 s vs 64-67 s).
-#}

{%- set month_year_type = 'series_sources.year_type_codes['
    ~ water_year_at(
        'series_sources.start_water_year',
        'series_sources.start_water_month',
        'month_values.month_index'
    )
    ~ ' - series_sources.first_water_year + 1]' %}
{%- set annual_year_type = 'type_lookups.year_type_codes['
    ~ 'annual_years.water_year - type_lookups.first_water_year + 1]' %}

{#- The scenarios this run computes (metadata; none on a first build). #}
{%- set to_build = statistics_to_build_ids('year_type_parameters_hash') %}

with

series as (
    select * from {{ ref('fct_series_values') }}
),

annual_values as (
    select * from {{ ref('int_annual_values_selected') }}
),

year_types as (
    select * from {{ ref('int_water_year_types_unioned') }}
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
        {{ water_month('series.start_month') }} as start_water_month,
        {{ water_year('series.start_month') }} as start_water_year
    from series
    where {{ statistics_is_to_build('series.scenario_id', to_build) }}
),

{# The annual values of each series, read once per series (a lateral on the
   primary key of fct_annual_values_compact) and reused by every year-type source. #}
series_annuals as (
    select
        selected_series.scenario_id,
        selected_series.variable_key,
        annuals.value_unit,
        annuals.water_years,
        annuals.annual_values,
        annuals.counted_flags
    from selected_series
    cross join lateral (
        select
            min(annual_values.value_unit) as value_unit,
            array_agg(annual_values.water_year order by annual_values.water_year) as water_years,
            array_agg(annual_values.annual_value order by annual_values.water_year)
                as annual_values,
            array_agg(annual_values.is_counted order by annual_values.water_year)
                as counted_flags
        from annual_values
        where
            annual_values.scenario_id = selected_series.scenario_id
            and annual_values.variable_key = selected_series.variable_key
        having count(*) > 0
    ) as annuals
),

year_spans as (
    select
        year_types.scenario_id,
        year_types.year_type_source,
        min(year_types.water_year) as first_water_year,
        max(year_types.water_year) as last_water_year
    from year_types
    where
        {{ statistics_is_to_build('year_types.scenario_id', to_build) }}
    group by year_types.scenario_id, year_types.year_type_source
),

{# Year types as an array indexed by water year - first_water_year + 1, so each
   monthly or annual value finds its year's type without a join. #}
type_lookups as (
    select
        year_spans.scenario_id,
        year_spans.year_type_source,
        year_spans.first_water_year,
        array_agg(year_types.year_type_code order by span_years.water_year) as year_type_codes
    from year_spans
    cross join
        lateral generate_series(
            year_spans.first_water_year, year_spans.last_water_year
        ) as span_years (water_year)
    left join year_types
        on
            year_spans.scenario_id = year_types.scenario_id
            and year_spans.year_type_source = year_types.year_type_source
            and span_years.water_year = year_types.water_year
    group by year_spans.scenario_id, year_spans.year_type_source, year_spans.first_water_year
),

series_sources as (
    select
        selected_series.scenario_id,
        selected_series.variable_key,
        selected_series.unit_code,
        selected_series.monthly_values,
        selected_series.loaded_at,
        selected_series.start_water_month,
        selected_series.start_water_year,
        type_lookups.year_type_source,
        type_lookups.first_water_year,
        type_lookups.year_type_codes
    from selected_series
    inner join type_lookups on selected_series.scenario_id = type_lookups.scenario_id
),

monthly_groups as (
    select
        series_sources.scenario_id,
        series_sources.variable_key,
        series_sources.year_type_source,
        grouped.year_type_code,
        'all' as period,
        series_sources.unit_code as value_unit,
        grouped.value_count,
        grouped.missing_count,
        grouped.mean,
        grouped.sd,
        grouped.sorted_values,
        series_sources.loaded_at
    from series_sources
    cross join lateral (
        select
            {{ month_year_type }} as year_type_code,
            {{ statistics_group_moments('month_values.value') }}
        from
            unnest(series_sources.monthly_values) with ordinality
                as month_values (value, month_index)
        where {{ month_year_type }} is not null
        group by {{ month_year_type }}
    ) as grouped
),

annual_groups as (
    select
        series_annuals.scenario_id,
        series_annuals.variable_key,
        type_lookups.year_type_source,
        grouped.year_type_code,
        'annual' as period,
        series_annuals.value_unit,
        grouped.value_count,
        grouped.missing_count,
        grouped.mean,
        grouped.sd,
        grouped.sorted_values,
        selected_series.loaded_at
    from series_annuals
    inner join selected_series
        on
            series_annuals.scenario_id = selected_series.scenario_id
            and series_annuals.variable_key = selected_series.variable_key
    inner join type_lookups on series_annuals.scenario_id = type_lookups.scenario_id
    cross join lateral (
        select
            {{ annual_year_type }} as year_type_code,
            {{ statistics_group_moments(
                'annual_years.annual_value', 'annual_years.is_counted'
            ) }}
        from
            unnest(
                series_annuals.water_years,
                series_annuals.annual_values,
                series_annuals.counted_flags
            ) as annual_years (water_year, annual_value, is_counted)
        where {{ annual_year_type }} is not null
        group by {{ annual_year_type }}
    ) as grouped
),

type_groups as (
    select * from monthly_groups
    union all
    select * from annual_groups
),

final as (
    select
        type_groups.scenario_id,
        type_groups.variable_key,
        type_groups.year_type_source,
        type_groups.year_type_code,
        type_groups.period,
        type_groups.value_unit,
        type_groups.value_count,
        type_groups.missing_count,
        type_groups.mean,
        type_groups.sd,
        {{ statistics_cv('type_groups.sd', 'type_groups.mean', 'parameters.cv_mean_guard') }} as cv,
        {{ statistics_quantile_array(
            'type_groups.sorted_values', 'type_groups.value_count', 'parameters'
        ) }} as quantile_values,
        parameter_hashes.year_type_parameters_hash as parameters_hash,
        type_groups.loaded_at
    from type_groups
    cross join parameters
    cross join parameter_hashes
)

select * from final
