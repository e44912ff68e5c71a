{{ config(severity='warn') }}

{#-
    Month counts per series: within a scenario every series should cover the
    same months (1,200 for CalSim3, 984 for CalSim II). A series that is shorter
    or starts elsewhere is reported (warning: some post-processed files mix
    periods on purpose).
-#}
with

series as (
    select * from {{ ref('fct_series_values') }}
    where {{ scenario_store_scope() }}
),

usual as (
    select
        scenario_id,
        mode() within group (order by month_count) as month_count,
        mode() within group (order by start_month) as start_month
    from series
    group by scenario_id
),

final as (
    select
        series.scenario_id,
        series.variable_key,
        series.month_count,
        usual.month_count as usual_month_count,
        series.start_month,
        usual.start_month as usual_start_month
    from series
    inner join usual on series.scenario_id = usual.scenario_id
    where
        series.month_count <> usual.month_count
        or series.start_month <> usual.start_month
)

select * from final
