{#-
    Data tests scoped to what a build wrote. A data test of a scenario_store
    model, or of a view reading one (the marts' and the api's views over the
    per-scenario tables), checks the scenarios this build computed, not the
    whole warehouse: a build's test time so depends on what changed, not on what
    is stored. Seeds, dimensions and tables rebuilt whole keep full tests.
    `coeqwal audit` runs every test on every scenario (var audit).
-#}

{#- SQL condition on `column`: the scenario is one this build computed (any
    scenario_store model of this dbt invocation wrote a table for it); `true`
    in an audit. Read when the test runs (after the models it tests) and
    written as literals: a view's branches hold their scenario as a constant,
    so the planner drops the branches of every other scenario, and a build
    that computed nothing scans nothing. -#}
{% macro scenario_store_scope(column='scenario_id') -%}
    {%- if var('audit', false) -%}
        true
    {%- elif not execute -%}
        false
    {%- else -%}
        {%- set built -%}
            select built_parts.scenario_id
            from {{ scenario_store_schema() }}.scenario_parts as built_parts
            where built_parts.invocation_id = '{{ invocation_id }}'
        {%- endset -%}
        {{ scenario_id_in(column, scenario_ids_of(built)) }}
    {%- endif -%}
{%- endmacro %}

{#- True when the node is a scenario_store model or a view that reads one
    (through views only: a table rebuilt whole is tested whole). -#}
{% macro scenario_store_reads_store(unique_id) -%}
    {%- set queue = [unique_id] -%}
    {%- set seen = [] -%}
    {%- for _ in range(50) if queue -%}
        {%- set current = queue.pop(0) -%}
        {%- set node = graph.nodes.get(current) -%}
        {%- if node is not none and current not in seen -%}
            {%- do seen.append(current) -%}
            {%- if node.config.materialized == 'scenario_store' -%}
                {{ return(true) }}
            {%- elif node.resource_type == 'model' and node.config.materialized == 'view' -%}
                {%- do queue.extend(node.depends_on.nodes) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}

{#- dbt's test subquery, plus the scope above for tests of relations that read
    the per-scenario tables. -#}
{% macro postgres__get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- if config.get('where') -%}
        {%- do conditions.append('(' ~ config.get('where') ~ ')') -%}
    {%- endif -%}
    {%- set attached = model.get('attached_node') if execute else none -%}
    {%- set scope = none -%}
    {%- if attached and not var('audit', false) and scenario_store_reads_store(attached) -%}
        {%- set scope = scenario_store_scope() | trim -%}
        {%- do conditions.append(scope) -%}
    {%- endif -%}
    {%- if conditions -%}
        {#- Nothing computed: `limit 0` too. The planner keeps the plan of a view
            that joins per-scenario views under a false filter, and its estimated
            cost made PostgreSQL JIT-compile it (2 s per test at N = 26, for no row). -#}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}
            {%- if scope == 'false' %} limit 0{% endif %}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}
