{{
    config(
        materialized='scenario_store'
    )
}}

{#-
    Compact storage of every loaded series: one row per scenario and series with
    its monthly values as `real[]` when every value is exactly a 32-bit float
    (CalSim3 output: ~4 bytes per value) or as `double precision[]` when some value
    needs 64 bits. Models read the view fct_series_values, which widens them to
    `double precision[]`. Incremental by scenario: a build processes only the
    scenarios whose raw load changed since the last build, replacing their rows.
-#}
with

series as (
    select * from {{ ref('int_series_classified') }}
),

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
        monthly_values_f4,
        monthly_values_f8,
        is_flow,
        is_described,
        start_month,
        loaded_at
    from series
    {% if is_incremental() %}
        where scenario_id in (
            {{ scenarios_changed_since_last_build(ref('int_series_classified')) }}
        )
    {% endif %}
)

select * from final
