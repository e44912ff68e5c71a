{{
    config(
        materialized='scenario_store'
    )
}}

{#- The scenarios whose raw load changed (metadata: one row per scenario,
    written as literals); all on a first build. #}
{%- if is_incremental() %}
    {%- set to_build = scenario_ids_of(
        scenarios_changed_since_last_build(scenario_store_loads('stg_dss__loads'))
    ) %}
{%- endif %}

with

series as (
    select * from {{ ref('int_series_classified') }}
),

scenario_loads as (
    {#- The load each scenario's rows come from: the one a later build compares. #}
    select
        raw_loads.scenario_id,
        raw_loads.loaded_at
    from {{ ref('stg_dss__loads') }} as raw_loads
    {% if is_incremental() %}
        where {{ scenario_id_in('raw_loads.scenario_id', to_build) }}
    {% endif %}
),

final as (
    select
        series.scenario_id,
        series.variable_key,
        series.file_role,
        series.b_part,
        series.c_part,
        series.unit_code,
        series.kind,
        series.month_count,
        series.missing_count,
        series.taf_per_cfs_day,
        series.monthly_values_f4,
        series.monthly_values_f8,
        series.is_flow,
        series.is_described,
        series.start_month,
        scenario_loads.loaded_at
    from series
    inner join scenario_loads on series.scenario_id = scenario_loads.scenario_id
    {% if is_incremental() %}
        where {{ scenario_id_in('series.scenario_id', to_build) }}
    {% endif %}
)

select * from final
