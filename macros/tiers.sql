{#-
    Tier mechanics (domain.md, "Tiers"): which locations and series an
    indicator reads, its tagged rows, and the bookkeeping of the incremental
    mart. The rule itself is SQL in models/intermediate/tiers/int_tier_rule_levels.sql
    and its parameters in int_tier_rule_parameters.
-#}

{#- The locations of one indicator in the seed tier_locations with the given
    roles (`rated`, `salinity_station`, `export_plant`, ...): location_code,
    role and the variable_key (B/C) of the series that measures it. -#}
{% macro tier_indicator_locations(indicator_code, roles) %}
    select
        locations.location_code,
        locations.role,
        locations.b_part || '/' || locations.c_part as variable_key
    from {{ ref('tier_locations') }} as locations
    where
        locations.indicator_code = '{{ indicator_code }}'
        and locations.role in (
            {%- for role in roles %}'{{ role }}'{{ ", " if not loop.last }}{% endfor -%}
        )
{% endmacro %}

{#- The series (fct_series_values: scenario_id, variable_key, start_month,
    monthly_values, taf_per_cfs_day) whose variable_key is listed in
    `locations` (a relation with variable_key), read through the table's key;
    unnest_monthly_values makes them monthly rows. -#}
{% macro tier_location_series(locations) %}
    select
        series.scenario_id,
        series.variable_key,
        series.start_month,
        series.monthly_values,
        series.taf_per_cfs_day
    from {{ ref('fct_series_values') }} as series
    where
        series.variable_key = any(array(select listed.variable_key from {{ locations }} as listed))
{% endmacro %}

{#- An indicator model's tagged rows: every rated location of the indicator
    for every loaded scenario, with the rows of `values` (its periods or its
    metric: the `value_columns`) and the reason it has no level should the
    rule (int_tier_rule_levels) give it none. A location whose scenario lacks
    a required input gets no values (one row of NULLs), so it is not rated
    even where the rest could be used. `inputs` is a relation of
    (location_code, input_group, group_order, key_order, variable_key): every
    group is required and met by any one of its series (`A or B` in the
    reason). -#}
{% macro tier_tagged_rows(
    indicator_code, values, value_columns, inputs, metric_code, metric_unit,
    no_value_reason, no_inputs_reason
) %}
    select
        scenarios.scenario_id,
        rated.indicator_code,
        rated.location_code,
        {%- for column in value_columns %}
        tagged.{{ column }},
        {%- endfor %}
        '{{ metric_code }}'::text as metric_code,
        '{{ metric_unit }}'::text as metric_unit,
        case
            when not exists (
                select listed.location_code
                from {{ inputs }} as listed
                where listed.location_code = rated.location_code
            )
                then '{{ no_inputs_reason }}'
            when missing.missing_inputs is not null
                then 'missing input ' || missing.missing_inputs
            else '{{ no_value_reason }}'
        end as reason_if_unrated
    from {{ ref('dim_scenarios') }} as scenarios
    cross join {{ ref('tier_locations') }} as rated
    left join (
        select
            missing_groups.scenario_id,
            missing_groups.location_code,
            string_agg(
                missing_groups.group_keys, ', '
                order by missing_groups.group_order, missing_groups.input_group
            ) as missing_inputs
        from (
            select
                loaded_scenarios.scenario_id,
                required.location_code,
                required.input_group,
                required.group_order,
                string_agg(required.variable_key, ' or ' order by required.key_order)
                    as group_keys
            from {{ ref('dim_scenarios') }} as loaded_scenarios
            cross join {{ inputs }} as required
            left join (
                select distinct
                    series.scenario_id,
                    series.variable_key
                from {{ ref('fct_series_values') }} as series
                where
                    series.variable_key = any(
                        array(select listed.variable_key from {{ inputs }} as listed)
                    )
            ) as loaded
                on
                    loaded_scenarios.scenario_id = loaded.scenario_id
                    and required.variable_key = loaded.variable_key
            where loaded_scenarios.is_loaded
            group by
                loaded_scenarios.scenario_id,
                required.location_code,
                required.input_group,
                required.group_order
            having count(loaded.variable_key) = 0
        ) as missing_groups
        group by missing_groups.scenario_id, missing_groups.location_code
    ) as missing
        on
            scenarios.scenario_id = missing.scenario_id
            and rated.location_code = missing.location_code
    left join {{ values }} as tagged
        on
            scenarios.scenario_id = tagged.scenario_id
            and rated.location_code = tagged.location_code
            and missing.location_code is null
    where
        scenarios.is_loaded
        and rated.indicator_code = '{{ indicator_code }}'
        and rated.role = 'rated'
{% endmacro %}

{#-
    pre_hook of fct_tier_location_results: lists the scenarios whose published
    rows may be kept (temporary table scenario_store_keep, read by the
    scenario_store materialization): the loaded scenarios of `scenarios`
    (dim_scenarios); the rows of a scenario no longer loaded are dropped.
-#}
{% macro tier_keep_loaded_scenarios(scenarios) %}
    drop table if exists pg_temp.scenario_store_keep;
    create temporary table scenario_store_keep as
    select loaded.scenario_id
    from {{ scenarios }} as loaded
    where loaded.is_loaded
{% endmacro %}

{#-
    Per loaded scenario, what its tier location rows are computed from, read
    from metadata (the registry of the per-scenario tables): its latest series
    load, its baseline and the baseline's load (GW_STOR compares with it), and
    parameters_hashes, a fingerprint of the tier seeds and of the scenario's
    delivery parameters (fct_delivery_annual). Columns as
    statistics_comparisons_to_build compares them.
-#}
{% macro tier_scenario_state_sql() %}
    {%- set series_loads = scenario_store_loads('fct_series_values_compact') -%}
    select
        scenarios.scenario_id,
        scenarios.baseline_scenario_id,
        series_loads.loaded_at,
        baseline_loads.loaded_at as baseline_loaded_at,
        md5(
            {{ statistics_parameters_hash([
                ref('tier_indicators'), ref('tier_locations'), ref('tier_rule_parameters'),
                ref('tier_delivered_results'), ref('demand_unit_series')
            ]) }}::text
            || '|' || coalesce(delivery_loads.parameters_hashes, '')
        )::uuid::text as parameters_hashes
    from {{ ref('dim_scenarios') }} as scenarios
    inner join {{ series_loads }} as series_loads
        on scenarios.scenario_id = series_loads.scenario_id
    left join {{ series_loads }} as baseline_loads
        on scenarios.baseline_scenario_id = baseline_loads.scenario_id
    left join {{ scenario_store_loads('fct_delivery_annual') }} as delivery_loads
        on scenarios.scenario_id = delivery_loads.scenario_id
    where scenarios.is_loaded
{% endmacro %}
