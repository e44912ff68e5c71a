{{
    config(
        materialized='incremental',
        unique_key='scenario_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns'
    )
}}

{#-
    Compact storage of every loaded series: one row per scenario and series
    with its monthly values as `real[]` (DSS values are 32-bit floats, so this is
    exact). Incremental by scenario: a build processes only the scenarios whose
    raw load changed since the last build, replacing their rows.
-#}
with

series as (
    select * from {{ ref('int_series_classified') }}
),

{% if is_incremental() %}
changed as (
    select latest.scenario_id
    from (
        select
            scenario_id,
            max(loaded_at) as loaded_at
        from series
        group by scenario_id
    ) as latest
    left join (
        select
            scenario_id,
            max(loaded_at) as loaded_at
        from {{ this }}
        group by scenario_id
    ) as built on latest.scenario_id = built.scenario_id
    where built.loaded_at is distinct from latest.loaded_at
),
{% endif %}

final as (
    select
        scenario_id,
        variable_key,
        file_role,
        b_part,
        c_part,
        unit_code,
        kind,
        month_count,
        missing_count,
        taf_per_cfs_day,
        monthly_values,
        is_flow,
        is_described,
        start_month,
        loaded_at
    from series
    {% if is_incremental() %}
        where scenario_id in (select changed.scenario_id from changed)
    {% endif %}
)

select * from final
