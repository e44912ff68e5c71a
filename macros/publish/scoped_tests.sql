{#-
    Data tests scoped to what a build wrote. A data test of a scenario_store
    model, or of a view reading one (the marts' and the api's views over the
    per-scenario tables), checks the scenarios this build computed, not the
    whole warehouse: a build's test time so depends on what changed, not on what
    is stored. Seeds, dimensions and tables rebuilt whole keep full tests.
    `coeqwal audit` runs every test on every scenario (var audit): the
    per-scenario tests a batch of scenarios at a time (var audit_scenarios), so
    one check's room and time are a batch's, not the warehouse's.
-#}

{#- The scenarios a test reads, by what it reads ('store': the per-scenario
    tables, 'raw': the raw series): a list of ids, or none for every scenario
    (an audit without a batch). In an audit: the batch in var audit_scenarios. -#}
{% macro scenario_scope_ids(reads='store') -%}
    {%- if var('audit', false) -%}
        {{ return(var('audit_scenarios', none)) }}
    {%- elif reads == 'raw' -%}
        {{ return(raw_series_scope_ids()) }}
    {%- else -%}
        {{ return(scenario_store_scope_ids()) }}
    {%- endif -%}
{%- endmacro %}

{#- SQL condition on `column`: the scenario is one of `ids` (none: `true`). In an
    audit's batch it carries the marker comment `coeqwal: audit batch`, by which
    `coeqwal audit` tells the tests it runs again for every batch from those it
    runs once. -#}
{% macro scenario_scope_condition(column, ids) -%}
    {%- if ids is none -%}
        true
    {%- elif var('audit', false) -%}
        /* coeqwal: audit batch */ {{ scenario_id_in(column, ids) }}
    {%- else -%}
        {{ scenario_id_in(column, ids) }}
    {%- endif -%}
{%- endmacro %}

{#- The rows of `relation` in the test's scope, as a parenthesized subquery: one
    branch per scenario, `column in ('<id>')` in each (an equality once
    parsed), joined by UNION ALL. An equality to a literal reaches every scan a
    view joins on that column (the comparison views read the scenario's
    statistics and its pairs with the baseline through two joins); a list
    (`in (...)`) filters the first scan only, so a view given two ids computed
    every alternative's comparisons before it filtered (18.9 s against 1.9 ms
    for one id, 104 scenarios).
    `condition`: another SQL condition on the rows. -#}
{% macro scenario_scoped(relation, reads='store', column='scenario_id', condition=none) -%}
    {%- set ids = scenario_scope_ids(reads) -%}
    {%- set extra = '(' ~ condition ~ ') and ' if condition else '' -%}
    {%- if ids is none -%}
        (select * from {{ relation }}{{ ' where ' ~ condition if condition }})
    {%- elif ids | length == 0 -%}
        {#- Nothing computed: `limit 0` too. The planner keeps the plan of a view
            that joins per-scenario views under a false filter, and its estimated
            cost made PostgreSQL JIT-compile it (2 s per test at N = 26, for no row). -#}
        (select * from {{ relation }} where false limit 0)
    {%- else -%}
        (
        {%- for scenario_id in ids %}
            {%- if not loop.first %}
            union all
            {%- endif %}
            select * from {{ relation }}
            where {{ extra }}{{ scenario_scope_condition(column, [scenario_id]) }}
        {%- endfor %}
        )
    {%- endif -%}
{%- endmacro %}

{#- SQL condition on `column`: the scenario is one this build computed for what
    the test reads (scenario_store_scope_ids); in an audit, its batch. For a
    view that joins per-scenario tables, scenario_scoped. -#}
{% macro scenario_store_scope(column='scenario_id') -%}
    {{ scenario_scope_condition(column, scenario_scope_ids('store')) }}
{%- endmacro %}

{#- SQL condition on `column` for the views over the raw series
    (raw_series_scope_ids); in an audit, its batch. -#}
{% macro raw_series_scope(column='scenario_id') -%}
    {{ scenario_scope_condition(column, scenario_scope_ids('raw')) }}
{%- endmacro %}

{#- The scenarios this build computed for what the test reads: a scenario_store
    model the test reads, directly or through views, got a table for them in
    this dbt invocation. A build that computes a new per-scenario model for
    every scenario so tests that model's scenarios, not every other mart's.
    Read when the test runs (after the models it tests) and written as
    literals: a view's branches hold their scenario as a constant, so the
    planner drops the branches of every other scenario, and a build that
    computed nothing scans nothing. -#}
{% macro scenario_store_scope_ids() -%}
    {%- if not execute or not scenario_store_registry_exists() -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set stores = scenario_store_models_read(
        (model.get('depends_on') or {}).get('nodes', [])
    ) -%}
    {%- set built -%}
        select built_parts.scenario_id
        from {{ scenario_store_schema() }}.scenario_parts as built_parts
        where built_parts.invocation_id = '{{ invocation_id }}'
        {%- if stores %}
            and built_parts.model_name in ('{{ stores | join("', '") }}')
        {%- endif %}
    {%- endset -%}
    {{ return(scenario_ids_of(built)) }}
{%- endmacro %}

{#- The scenarios of the tests of the views over the raw series: the scenario's
    raw load differs from the one the published fct_series_values_compact was
    computed from (new or re-ingested: what this build computes; every
    scenario before a first build), or this invocation computed it. Their
    tests run before the marts are built, so the registry of this invocation
    alone would name nothing yet. -#}
{% macro raw_series_scope_ids() -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set nodes = {} -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model'
        and node.name in ['stg_dss__series', 'fct_series_values_compact'] -%}
        {%- do nodes.update({node.name: api.Relation.create(
            database=node.database, schema=node.schema, identifier=node.alias, type='view'
        )}) -%}
    {%- endfor -%}
    {%- set staged = nodes['stg_dss__series'] -%}
    {%- if adapter.get_relation(staged.database, staged.schema, staged.identifier) is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set target = published_relation(nodes['fct_series_values_compact']) -%}
    {%- set published = adapter.get_relation(target.database, target.schema, target.identifier) -%}
    {%- set registry = scenario_store_registry_exists() -%}
    {%- set changed -%}
        select latest.scenario_id
        from ({{ raw_dss_loads_sql() }}) as latest
        {%- if published is not none and published.type == 'view' %}
            left join (
                select parts.scenario_id, max(parts.loaded_at) as loaded_at
                from ({{ scenario_store_parts_sql(published, 'fct_series_values_compact') }}) as parts
                group by parts.scenario_id
            ) as built on latest.scenario_id = built.scenario_id
            where built.loaded_at is distinct from latest.loaded_at
        {%- endif %}
        {%- if registry %}
            union
            select built_parts.scenario_id
            from {{ scenario_store_schema() }}.scenario_parts as built_parts
            where built_parts.invocation_id = '{{ invocation_id }}'
        {%- endif %}
    {%- endset -%}
    {{ return(scenario_ids_of(changed)) }}
{%- endmacro %}

{#- Whether the registry of per-scenario tables exists: not before the first
    build (e.g. `dbt compile` or the SQL linter on a new database), when no
    scenario has been computed. -#}
{% macro scenario_store_registry_exists() -%}
    {{ return(adapter.get_relation(
        database=target.database, schema=scenario_store_schema(), identifier='scenario_parts'
    ) is not none) }}
{%- endmacro %}

{#- The scenario_store models the nodes `node_ids` are or read through views
    (a table rebuilt whole ends the walk: it is not stored per scenario). -#}
{% macro scenario_store_models_read(node_ids) -%}
    {%- set queue = node_ids | list -%}
    {%- set seen = [] -%}
    {%- set stores = [] -%}
    {%- for _ in range(500) if queue -%}
        {%- set current = queue.pop(0) -%}
        {%- set node = graph.nodes.get(current) -%}
        {%- if node is not none and current not in seen -%}
            {%- do seen.append(current) -%}
            {%- if node.config.materialized == 'scenario_store' -%}
                {%- do stores.append(node.name) -%}
            {%- elif node.resource_type == 'model' and node.config.materialized == 'view' -%}
                {%- do queue.extend(node.depends_on.nodes) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(stores | unique | sort | list) }}
{%- endmacro %}

{#- What a node's tests are scoped by: 'store' when it is a scenario_store
    model or a view that reads one, 'raw' when it is a view that reads a source
    partitioned by scenario (meta `partitioned_by_scenario`: the raw DSS
    series), through views only (a table rebuilt whole is tested whole); none
    otherwise. -#}
{% macro scenario_store_reads_store(unique_id) -%}
    {%- set queue = [unique_id] -%}
    {%- set seen = [] -%}
    {%- set found = [] -%}
    {%- for _ in range(50) if queue -%}
        {%- set current = queue.pop(0) -%}
        {%- set source = graph.sources.get(current) -%}
        {%- if source is not none and (source.meta or {}).get('partitioned_by_scenario') -%}
            {%- do found.append('raw') -%}
        {%- endif -%}
        {%- set node = graph.nodes.get(current) -%}
        {%- if node is not none and current not in seen -%}
            {%- do seen.append(current) -%}
            {%- if node.config.materialized == 'scenario_store' -%}
                {{ return('store') }}
            {%- elif node.resource_type == 'model' and node.config.materialized == 'view' -%}
                {%- do queue.extend(node.depends_on.nodes) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found[0] if found else none) }}
{%- endmacro %}

{#- dbt's test subquery (its `where` config), limited to the test's scenarios
    (scenario_scoped) when the tested relation reads the per-scenario tables or
    the raw series. -#}
{% macro postgres__get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- set attached = model.get('attached_node') if execute else none -%}
    {%- set reads = scenario_store_reads_store(attached) if attached else none -%}
    {%- if reads -%}
        {{ return(scenario_scoped(relation, reads, condition=where) ~ ' dbt_subquery') }}
    {%- elif where -%}
        {{ return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}
