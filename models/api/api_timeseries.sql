{{ config(post_hook=["{{ api_create_timeseries_function() }}"]) }}

{#-
    Unnests fct_series_values itself rather than reading fct_monthly_values:
    the same rows, with integer month arithmetic instead of interval arithmetic.
-#}
with

series as (
    select * from {{ ref('fct_series_values') }}
),

series_months as (
    select
        series.scenario_id,
        series.variable_key,
        series.taf_per_cfs_day,
        vals.value::double precision as value,
        first_month.month_number + vals.month_index::integer - 1 as month_number
    from series
    cross join {{ api_series_first_month('series') }}
    cross join lateral unnest(series.monthly_values) with ordinality as vals (value, month_index)
),

final as (
    select
        series_months.scenario_id,
        series_months.variable_key,
        {{ api_month_date('series_months.month_number') }} as month_date,
        {{ api_water_year('series_months.month_number') }} as water_year,
        {{ api_water_month('series_months.month_number') }} as water_month,
        series_months.value,
        case
            when series_months.taf_per_cfs_day is not null
                then {{ cfs_to_taf(
                    'series_months.value',
                    api_month_date('series_months.month_number'),
                    'series_months.taf_per_cfs_day'
                ) }}
        end as value_taf
    from series_months
)

select * from final
