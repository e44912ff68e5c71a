{#- The scenarios this run computes (metadata; none on a first build). #}
{%- set to_build = statistics_to_build_ids('delta_parameters_hash') %}

with

delta_series as (
    select * from {{ ref('delta_series') }}
),

thresholds as (
    select * from {{ ref('salinity_thresholds') }}
),

seasons as (
    select * from {{ ref('x2_seasons') }}
),

series as (
    select * from {{ ref('fct_series_values') }}
),

monthly as (
    select * from {{ ref('fct_monthly_values') }}
),

statistics as (
    select * from {{ ref('fct_series_statistics') }}
),

parameters as (
    select parameter_hashes.delta_parameters_hash as parameters_hash
    from {{ ref('int_statistics_parameter_hashes') }} as parameter_hashes
),

scenario_loads as (
    {{ statistics_scenario_loads('series', to_build) }}
),

outflow_rows as (
    select
        statistics.scenario_id,
        delta_series.series_code,
        'outflow' as metric_code,
        statistics.period,
        statistics.statistic_code,
        statistics.value_unit,
        statistics.value,
        statistics.value_count
    from statistics
    inner join delta_series
        on statistics.variable_key = delta_series.b_part || '/' || delta_series.c_part
    where
        delta_series.role = 'outflow'
        {#- `= any(array(...))` filters keep the scans of the big relations on their
            primary key (a join there is planned after unnesting every series). #}
        and statistics.variable_key = any(
            array(
                select listed.b_part || '/' || listed.c_part as variable_key
                from delta_series as listed
            )
        )
        and {{ statistics_is_to_build('statistics.scenario_id', to_build) }}
),

delta_months as (
    select
        monthly.scenario_id,
        delta_series.series_code,
        delta_series.role,
        delta_series.unit_code,
        extract(month from monthly.month_date)::integer as calendar_month,
        monthly.month_date,
        monthly.value
    from monthly
    inner join delta_series
        on monthly.variable_key = delta_series.b_part || '/' || delta_series.c_part
    where
        delta_series.role in ('x2', 'salinity')
        and monthly.variable_key = any(
            array(
                select listed.b_part || '/' || listed.c_part as variable_key
                from delta_series as listed
            )
        )
        and {{ statistics_is_to_build('monthly.scenario_id', to_build) }}
),

x2_rows as (
    select
        delta_months.scenario_id,
        delta_months.series_code,
        'x2_position' as metric_code,
        seasons.season_code as period,
        'mean' as statistic_code,
        min(delta_months.unit_code) as value_unit,
        {#- in month order: bit-identical whatever the row order #}
        avg(delta_months.value order by delta_months.month_date) as value,
        count(delta_months.value)::integer as value_count
    from delta_months
    inner join seasons on delta_months.calendar_month = seasons.calendar_month
    where delta_months.role = 'x2'
    group by delta_months.scenario_id, delta_months.series_code, seasons.season_code
),

salinity_rows as (
    select
        delta_months.scenario_id,
        delta_months.series_code,
        'salinity' as metric_code,
        'all' as period,
        'share_above_' || thresholds.threshold_umhos_cm::text as statistic_code,
        'FRACTION' as value_unit,
        (
            count(*) filter (where delta_months.value > thresholds.threshold_umhos_cm)
        )::double precision
        / nullif(count(delta_months.value), 0) as value,
        count(delta_months.value)::integer as value_count
    from delta_months
    inner join thresholds on delta_months.series_code = thresholds.series_code
    where delta_months.role = 'salinity'
    group by delta_months.scenario_id, delta_months.series_code, thresholds.threshold_umhos_cm
),

all_rows as (
    select * from outflow_rows
    union all
    select * from x2_rows
    union all
    select * from salinity_rows
),

final as (
    select
        all_rows.scenario_id,
        all_rows.series_code,
        all_rows.metric_code,
        all_rows.period,
        all_rows.statistic_code,
        all_rows.value_unit,
        all_rows.value,
        all_rows.value_count,
        parameters.parameters_hash,
        scenario_loads.loaded_at
    from all_rows
    inner join scenario_loads on all_rows.scenario_id = scenario_loads.scenario_id
    cross join parameters
)

select * from final
