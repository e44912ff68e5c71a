{#-
    Every loaded series has its `all` statistics, and they account for every one
    of its monthly values: value_count + missing_count = month_count; the water
    months add up to the same.
-#}
with

series as (
    select * from {{ ref('fct_series_values') }}
    where {{ scenario_store_scope() }}
),

statistics as (
    select * from {{ ref('fct_series_statistics_compact') }}
    where {{ scenario_store_scope() }}
),

month_totals as (
    select
        statistics.scenario_id,
        statistics.variable_key,
        sum(statistics.value_count + statistics.missing_count) filter (
            where statistics.period = 'all'
        ) as all_months,
        sum(statistics.value_count + statistics.missing_count) filter (
            where statistics.period not in ('all', 'annual')
        ) as water_months
    from statistics
    group by statistics.scenario_id, statistics.variable_key
),

final as (
    select
        series.scenario_id,
        series.variable_key,
        series.month_count,
        month_totals.all_months,
        month_totals.water_months
    from series
    left join month_totals
        on
            series.scenario_id = month_totals.scenario_id
            and series.variable_key = month_totals.variable_key
    where
        month_totals.all_months is distinct from series.month_count::bigint
        or month_totals.water_months is distinct from series.month_count::bigint
)

select * from final
