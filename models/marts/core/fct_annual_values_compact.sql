{{
    config(
        materialized='scenario_store'
    )
}}

{#-
    Arrays per series: ~38 bytes per series and year at full size, where a long
    table costs ~225 (one row and one key entry per year). Reads
    fct_series_values_compact, not the widened view, to know each series'
    precision (real[] or double precision[] for min, max, April, September), and
    computes water year and month by integer arithmetic from start_month rather
    than through the long fct_monthly_values view.
-#}
with

series as (
    select * from {{ ref('fct_series_values_compact') }}
),

{# Materialized: the start's water year and month are computed once per series;
    inlined, PostgreSQL would recompute them for every value (measured 47 s
    against 19 s for the select alone on a full-size scenario). #}
changed_series as materialized (
    select
        series.scenario_id,
        series.variable_key,
        series.taf_per_cfs_day::double precision as taf_per_cfs_day,
        {#- widened exactly as the view fct_series_values does #}
        coalesce(
            series.monthly_values_f8, series.monthly_values_f4::double precision[]
        ) as monthly_values,
        series.is_flow,
        series.monthly_values_f8 is null as is_float32,
        series.loaded_at,
        {{ water_year('series.start_month') }} as start_water_year,
        {{ water_month('series.start_month') }} as start_water_month
    from series
    {% if is_incremental() %}
        where {{ scenario_id_in('series.scenario_id', scenario_ids_of(
            scenarios_changed_since_last_build(scenario_store_loads('fct_series_values_compact'))
        )) }}
    {% endif %}
),

{# One pass per series: its values unnested once and grouped by water year
    (the months in array order), then the years aggregated in order. #}
annual as (
    select
        changed_series.scenario_id,
        changed_series.variable_key,
        changed_series.start_water_year,
        changed_series.is_float32,
        years.month_counts,
        years.months_sums_taf,
        years.mean_values,
        years.min_values,
        years.max_values,
        years.apr_values,
        years.sep_values,
        changed_series.loaded_at
    from changed_series
    cross join lateral (
        select
            array_agg(yearly.month_count order by yearly.water_year) as month_counts,
            case
                when changed_series.is_flow
                    then array_agg(yearly.months_sum_taf order by yearly.water_year)
            end as months_sums_taf,
            array_agg(yearly.mean_value order by yearly.water_year) as mean_values,
            array_agg(yearly.min_value order by yearly.water_year) as min_values,
            array_agg(yearly.max_value order by yearly.water_year) as max_values,
            array_agg(yearly.apr_value order by yearly.water_year) as apr_values,
            array_agg(yearly.sep_value order by yearly.water_year) as sep_values
        from (
            select
                months.water_year,
                count(months.value)::smallint as month_count,
                sum(
                    months.value
                    * {{ days_in_water_month('months.water_year', 'months.water_month') }}
                    * changed_series.taf_per_cfs_day
                )::double precision as months_sum_taf,
                avg(months.value) as mean_value,
                min(months.value) as min_value,
                max(months.value) as max_value,
                max(months.value) filter (where months.water_month = 7) as apr_value,
                max(months.value) filter (where months.water_month = 12) as sep_value
            from (
                select
                    vals.value,
                    {{ water_year_at(
                        'changed_series.start_water_year',
                        'changed_series.start_water_month',
                        'vals.month_index'
                    ) }} as water_year,
                    {{ water_month_at('changed_series.start_water_month', 'vals.month_index') }}
                        as water_month
                from
                    unnest(changed_series.monthly_values) with ordinality
                        as vals (value, month_index)
            ) as months
            group by months.water_year
        ) as yearly
        {#- a series without values has no year (and no row) #}
        having count(*) > 0
    ) as years
),

final as (
    select
        annual.scenario_id,
        annual.variable_key,
        annual.start_water_year,
        annual.month_counts,
        annual.months_sums_taf,
        annual.mean_values,
        {#- a float32 series' monthly values are 32-bit floats: `real` holds them exactly #}
        case when annual.is_float32 then annual.min_values::real[] end as min_values_f4,
        case when not annual.is_float32 then annual.min_values end as min_values_f8,
        case when annual.is_float32 then annual.max_values::real[] end as max_values_f4,
        case when not annual.is_float32 then annual.max_values end as max_values_f8,
        case when annual.is_float32 then annual.apr_values::real[] end as apr_values_f4,
        case when not annual.is_float32 then annual.apr_values end as apr_values_f8,
        case when annual.is_float32 then annual.sep_values::real[] end as sep_values_f4,
        case when not annual.is_float32 then annual.sep_values end as sep_values_f8,
        annual.loaded_at
    from annual
)

select * from final
