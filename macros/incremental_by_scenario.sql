{#-
    Incremental by scenario. Deciding what to rebuild reads metadata only: the
    registry of the per-scenario tables (store.scenario_parts: the load and
    parameters each table was computed from) and, for the first mart above the
    raw layer, the raw loads (raw_dss.dss_loads: one row per scenario, written
    with its partition). No fact row is scanned, so a build that changes
    nothing costs the same at 1 or 100 scenarios.
-#}

{#-
    Per scenario, the latest load behind a model's rows (scenario_id,
    loaded_at, parameters_hashes), for the model named `model_name`, in the
    schemas of this build. A scenario_store model is read from its registry
    rows (one per scenario); any other relation by one max(loaded_at) per
    scenario (parameters_hashes NULL). The relation is found in dbt's graph,
    not through ref(): call it only where is_incremental() is true, where the
    model already reads it (directly or through views). While dbt parses: an
    empty relation of the same columns.
-#}
{% macro scenario_store_loads(model_name) -%}
    {%- if not execute -%}
        {#- Parsing: dbt's graph is not there yet; an empty relation of the same columns. -#}
        {{ return('(select null::text as scenario_id, null::timestamp as loaded_at, '
            ~ 'null::text as parameters_hashes where false)') }}
    {%- endif -%}
    {%- set nodes = graph.nodes.values()
        | selectattr('resource_type', 'equalto', 'model')
        | selectattr('name', 'equalto', model_name)
        | list -%}
    {%- if nodes | length != 1 -%}
        {{ exceptions.raise_compiler_error('scenario_store_loads: no model named ' ~ model_name) }}
    {%- endif -%}
    {%- set node = nodes[0] -%}
    {%- set relation = api.Relation.create(
        database=node.database, schema=node.schema, identifier=node.alias, type='view'
    ) -%}
    {%- if node.config.materialized == 'scenario_store' -%}
        (
            select
                store_parts.scenario_id,
                max(store_parts.loaded_at) as loaded_at,
                string_agg(distinct store_parts.parameters_hashes, ',') as parameters_hashes
            from ({{ scenario_store_parts_sql(relation, node.name) }}) as store_parts
            group by store_parts.scenario_id
        )
    {%- else -%}
        (
            select
                relation_rows.scenario_id,
                max(relation_rows.loaded_at) as loaded_at,
                null::text as parameters_hashes
            from {{ relation }} as relation_rows
            group by relation_rows.scenario_id
        )
    {%- endif -%}
{%- endmacro %}

{#-
    The scenarios whose latest load in `loads` (a scenario_store_loads
    relation) differs from the load the published rows of the model being
    built were computed from (scenario_store_state): new or re-ingested
    scenarios.
-#}
{% macro scenarios_changed_since_last_build(loads) %}
    select latest.scenario_id
    from {{ loads }} as latest
    left join {{ scenario_store_state() }} as built on latest.scenario_id = built.scenario_id
    where built.loaded_at is distinct from latest.loaded_at
{% endmacro %}

{#- The scenario ids `query` selects (its first column), run now; [] while
    dbt parses. For metadata queries: a model writes the result as literals. -#}
{% macro scenario_ids_of(query) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set ids = run_query('select distinct ids.* from (' ~ query ~ ') as ids order by 1')
        .columns[0].values() | reject('none') | list -%}
    {{ return(ids) }}
{%- endmacro %}

{#- SQL condition: `column` is one of `ids`, written as literals (`false` when
    there is none), so that the planner keeps only those scenarios' branches of
    a per-scenario view and a build with nothing to compute plans nothing. -#}
{% macro scenario_id_in(column, ids) -%}
    {%- if ids | length == 0 -%}
        false
    {%- else -%}
        {{ column }} in (
            {%- for scenario_id in ids -%}
                '{{ scenario_id | replace("'", "''") }}'{{ ', ' if not loop.last }}
            {%- endfor -%}
        )
    {%- endif -%}
{%- endmacro %}

{#- SQL of one row per scenario of the raw DSS series (scenario_id, loaded_at,
    series_count): the load its partition holds. Read from raw_dss.dss_loads,
    which the loader writes in the transaction that swaps the partition in; a
    database whose series landed before that table existed reads the same from
    the series themselves (one scan; `coeqwal build` creates the table first).
    The sources are found in dbt's graph, so that tests compiled while the
    build runs can call it. -#}
{% macro raw_dss_loads_sql() -%}
    {%- set found = {} -%}
    {%- if execute -%}
        {%- for source in graph.sources.values() if source.source_name == 'raw_dss' -%}
            {%- set relation = adapter.get_relation(source.database, source.schema, source.identifier) -%}
            {%- if relation is not none -%}
                {%- do found.update({source.name: relation}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if 'dss_loads' in found -%}
        select
            raw_loads.scenario_id::text as scenario_id,
            raw_loads.ingested_at at time zone 'UTC' as loaded_at,
            raw_loads.series_count
        from {{ found['dss_loads'] }} as raw_loads
    {%- elif 'dss_series' in found -%}
        select
            raw_series.scenario_id::text as scenario_id,
            max(raw_series.ingested_at) at time zone 'UTC' as loaded_at,
            count(*)::integer as series_count
        from {{ found['dss_series'] }} as raw_series
        group by raw_series.scenario_id
    {%- else -%}
        select null::text as scenario_id, null::timestamp as loaded_at, null::integer as series_count
        where false
    {%- endif -%}
{%- endmacro %}

{#- pre_hook of a scenario_store model: the scenarios whose published rows may
    be kept (temporary table scenario_store_keep, read by the scenario_store
    materialization) are those `scenarios` lists (any relation with a
    scenario_id); the rows of every other scenario are dropped. -#}
{% macro scenario_store_keep_only(scenarios) %}
    drop table if exists pg_temp.scenario_store_keep;
    create temporary table scenario_store_keep as
    select kept.scenario_id
    from {{ scenarios }} as kept
{% endmacro %}
