{#-
    What a statistics build computes: the parameters behind the stored rows and
    the scenarios whose load, baseline or parameters changed (metadata only).
-#}

{#-
    A uuid fingerprint of every row of the given relations (seeds and small
    dimensions a statistics model reads). Stored on every row the model writes:
    when an analyst edits one of them, every scenario is rebuilt.
-#}
{% macro statistics_parameters_hash(relations) -%}
    (
        select md5(string_agg(seed_rows.row_text, '|' order by seed_rows.row_text))::uuid
        from (
            {%- for relation in relations %}
                select '{{ relation.identifier }}:' || seed_row::text as row_text
                from {{ relation }} as seed_row
                {%- if not loop.last %}
                    union all
                {%- endif %}
            {%- endfor %}
        ) as seed_rows
    )
{%- endmacro %}

{#-
    Incremental by scenario, aware of parameters: the ids of the scenarios a
    statistics model computes this run, read now from metadata (the registry of
    the per-scenario tables), or none on a first (full) build, which computes
    every scenario. They are the scenarios scenarios_changed_since_last_build
    selects for the loads of `loads_model` (new or re-ingested), plus the
    loaded scenarios whose rows were computed with other parameters (a
    parameters_hash other than the current `hash_column` of
    int_statistics_parameter_hashes: an analyst edited a seed), so a seed edit
    followed by `dbt build` updates every scenario. The models write them as
    literals (statistics_is_to_build): the planner then reads only those
    scenarios' tables, and a build that computes nothing plans nothing.
-#}
{% macro statistics_to_build_ids(hash_column, loads_model='fct_series_values_compact') %}
    {%- if not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set loads = scenario_store_loads(loads_model) -%}
    {%- set query -%}
        {{ scenarios_changed_since_last_build(loads) }}
        union
        select built.scenario_id
        from {{ scenario_store_state() }} as built
        inner join {{ loads }} as latest on built.scenario_id = latest.scenario_id
        where built.parameters_hashes is distinct from (
            select hashes.{{ hash_column }}::text
            from {{ ref('int_statistics_parameter_hashes') }} as hashes
        )
    {%- endset -%}
    {{ return(scenario_ids_of(query)) }}
{% endmacro %}

{#-
    True when `scenario_id` is one of the scenarios a model builds this run:
    `to_build` written as literals (statistics_to_build_ids); `true` on a first
    build (to_build none), which computes every scenario.
-#}
{% macro statistics_is_to_build(scenario_id, to_build) -%}
    {%- if to_build is none -%}
        true
    {%- else -%}
        {{ scenario_id_in(scenario_id, to_build) }}
    {%- endif -%}
{%- endmacro %}

{#-
    Per scenario built this run, the latest raw load behind its series
    (loaded_at of the statistics rows, which drives incremental rebuilds).
-#}
{% macro statistics_scenario_loads(series, to_build) %}
    select
        series_rows.scenario_id,
        max(series_rows.loaded_at) as loaded_at
    from {{ series }} as series_rows
    where {{ statistics_is_to_build('series_rows.scenario_id', to_build) }}
    group by series_rows.scenario_id
{% endmacro %}

{#-
    The (scenario, baseline) pairs a comparison model must compute: every
    scenario with a baseline in `scenarios` (dim_scenarios), both present in the
    statistics relations (a list of relations or CTE names, each with
    scenario_id, loaded_at, parameters_hash). Columns: scenario_id,
    baseline_scenario_id, loaded_at and baseline_loaded_at (latest load behind
    each side's statistics), parameters_hashes (the distinct parameters_hash
    values of the scenario's statistics, as sorted text).
-#}
{% macro statistics_comparison_pairs(statistics_relations, scenarios) %}
    with statistics_state as (
        select
            statistics_rows.scenario_id,
            max(statistics_rows.loaded_at) as loaded_at,
            string_agg(
                distinct statistics_rows.parameters_hash::text, ','
                order by statistics_rows.parameters_hash::text
            ) as parameters_hashes
        from (
            {%- for relation in statistics_relations %}
                select
                    statistics_relation.scenario_id,
                    statistics_relation.loaded_at,
                    statistics_relation.parameters_hash
                from {{ relation }} as statistics_relation
                {%- if not loop.last %}
                    union all
                {%- endif %}
            {%- endfor %}
        ) as statistics_rows
        group by statistics_rows.scenario_id
    )

    select
        scenario_links.scenario_id,
        scenario_links.baseline_scenario_id,
        current_state.loaded_at,
        baseline_state.loaded_at as baseline_loaded_at,
        current_state.parameters_hashes
    from {{ scenarios }} as scenario_links
    inner join statistics_state as current_state
        on scenario_links.scenario_id = current_state.scenario_id
    inner join statistics_state as baseline_state
        on scenario_links.baseline_scenario_id = baseline_state.scenario_id
    where scenario_links.baseline_scenario_id is not null
{% endmacro %}

{#-
    Of the pairs (a CTE built with statistics_comparison_pairs), the scenarios
    whose comparison rows are missing or stale: the scenario or its baseline was
    rebuilt (another loaded_at), the baseline changed, or the statistics were
    computed with other parameters. A re-ingested baseline so recomputes the
    comparisons of all its alternatives, and nothing else.
    Use inside `{% if is_incremental() %}`.
-#}
{% macro statistics_comparisons_to_build(pairs) %}
    select pairs_to_check.scenario_id
    from {{ pairs }} as pairs_to_check
    left join {{ scenario_store_state() }} as built
        on pairs_to_check.scenario_id = built.scenario_id
    where
        built.scenario_id is null
        or built.baseline_scenario_id is distinct from pairs_to_check.baseline_scenario_id
        or built.loaded_at is distinct from pairs_to_check.loaded_at
        or built.baseline_loaded_at is distinct from pairs_to_check.baseline_loaded_at
        or built.parameters_hashes is distinct from pairs_to_check.parameters_hashes
{% endmacro %}

{#-
    pre_hook of the comparison models: the scenarios whose published comparison
    rows may be kept, i.e. those that still have a loaded baseline in
    `scenarios` (dim_scenarios); a seed edit that made a scenario a baseline, or
    a baseline no longer loaded, drops its rows (see scenario_store).
-#}
{% macro statistics_keep_comparable_scenarios(scenarios) %}
    drop table if exists pg_temp.scenario_store_keep;
    create temporary table scenario_store_keep as
    select scenario_links.scenario_id
    from {{ scenarios }} as scenario_links
    inner join {{ scenarios }} as baseline_links
        on scenario_links.baseline_scenario_id = baseline_links.scenario_id
    where
        scenario_links.is_loaded
        and baseline_links.is_loaded
{% endmacro %}
