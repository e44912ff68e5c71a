{#-
    What each scenario's stored series are, one row per scenario: the
    dimensions read it instead of every series, so a build that rebuilds
    dim_scenarios and dim_variables reads N rows, not N × ~21,500.
    variable_set_hash fingerprints the scenario's (variable, B, C, unit) list:
    runs of one model version share it, and dim_variables unnests one list per
    distinct set. Incremental by scenario, like fct_series_values_compact: a
    build computes the scenarios whose compact rows come from another load, and
    keeps only scenarios the compact store still holds (pre_hook).
-#}
{{
    config(
        materialized='scenario_store',
        pre_hook="{{ scenario_store_keep_only(scenario_store_loads('fct_series_values_compact')) }}"
    )
}}

{%- if is_incremental() %}
    {%- set to_build = scenario_ids_of(
        scenarios_changed_since_last_build(scenario_store_loads('fct_series_values_compact'))
    ) %}
{%- endif %}

with

series as (
    select * from {{ ref('fct_series_values_compact') }}
    {% if is_incremental() %}
        where {{ scenario_id_in('scenario_id', to_build) }}
    {% endif %}
),

final as (
    select
        scenario_id,
        count(*)::integer as series_count,
        sum(month_count)::bigint as value_count,
        min(start_month) as first_month,
        max(loaded_at) as loaded_at,
        md5(
            string_agg(
                json_build_array(variable_key, b_part, c_part, unit_code)::text,
                ',' order by variable_key
            )
        )::uuid as variable_set_hash,
        array_agg(variable_key order by variable_key) as variable_keys,
        array_agg(b_part order by variable_key) as b_parts,
        array_agg(c_part order by variable_key) as c_parts,
        array_agg(unit_code order by variable_key) as unit_codes
    from series
    group by scenario_id
)

select * from final
