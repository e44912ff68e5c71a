{{
    config(
        materialized='incremental',
        unique_key='scenario_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns'
    )
}}

{#-
    One row per scenario, series and water year. Flows are summed as volumes
    (TAF); storage and other states are read at the end of April (water month 7)
    and September (water month 12) and averaged. Incremental by scenario, like
    fct_series_values.
-#}
with

monthly as (
    select * from {{ ref('fct_monthly_values') }}
),

series as (
    select * from {{ ref('fct_series_values') }}
),

annual as (
    select
        monthly.scenario_id,
        monthly.variable_key,
        monthly.water_year,
        count(monthly.value)::integer as month_count,
        sum(monthly.value_taf) as total_taf,
        avg(monthly.value) as mean_value,
        min(monthly.value) as min_value,
        max(monthly.value) as max_value,
        max(monthly.value) filter (where monthly.water_month = 7) as apr_value,
        max(monthly.value) filter (where monthly.water_month = 12) as sep_value
    from monthly
    {% if is_incremental() %}
        where monthly.scenario_id in (
            {{ scenarios_changed_since_last_build(ref('fct_series_values')) }}
        )
    {% endif %}
    group by monthly.scenario_id, monthly.variable_key, monthly.water_year
),

final as (
    select
        annual.scenario_id,
        annual.variable_key,
        annual.water_year,
        annual.month_count,
        case when series.is_flow then annual.total_taf end as total_taf,
        annual.mean_value,
        annual.min_value,
        annual.max_value,
        annual.apr_value,
        annual.sep_value,
        annual.month_count = 12 as is_complete_year,
        series.loaded_at
    from annual
    inner join series
        on
            annual.scenario_id = series.scenario_id
            and annual.variable_key = series.variable_key
)

select * from final
