{#-
    Per-scenario storage of the large marts, and the shadow build that the
    publish step switches in (docs/operations.md, "What clients see during a
    build").

    A `scenario_store` model keeps its rows in one table per scenario in schema
    `store` (`store.<model>__<scenario>__<build>`), written once and never
    updated. A build computes only the scenarios the model's SQL selects (its
    `is_incremental()` branch, which compares with the published view) into new
    tables, then writes the model's view in the build's schema as a UNION ALL of
    the new tables and the published tables of every other scenario. The
    published view is untouched until the publish step (ingest/publish.py)
    switches the build's view to a partitioned table of those same tables and
    renames the build's schemas into place: clients read the old tables until
    then, and a failed or killed build leaves them as they were. Tables no view
    reads any more are dropped by the next build.

    `store.scenario_parts` records the scenario of each table and the state its
    rows were computed from; `store.part_readers` says which view reads it.
    A model with config `packed_by` (a list of key columns) stores one row per
    scenario and key, its other columns as arrays, and its view unpacks them
    (macros/publish/packing.sql).
-#}

{#- Schema of the per-scenario tables (never renamed by the publish step). -#}
{% macro scenario_store_schema() -%}
    {{ return(var('scenario_store_schema', 'store')) }}
{%- endmacro %}

{#- Created once per run (on-run-start): the schema and the registry of tables. -#}
{% macro scenario_store_setup() %}
    create schema if not exists {{ scenario_store_schema() }};
    create table if not exists {{ scenario_store_schema() }}.scenario_parts (
        relation_name text primary key,
        model_name text not null,
        scenario_id text,
        invocation_id text not null,
        created_at timestamptz not null default now()
    );
    alter table {{ scenario_store_schema() }}.scenario_parts
        add column if not exists loaded_at timestamp,
        add column if not exists baseline_scenario_id text,
        add column if not exists baseline_loaded_at timestamp,
        add column if not exists parameters_hashes text;
    comment on table {{ scenario_store_schema() }}.scenario_parts is
    'One row per table of schema store: the model and scenario whose rows it holds (scenario_id NULL: the empty table of a model without scenarios), and the state its rows were computed from (latest load, baseline and its load, distinct parameters hashes), which the next build compares instead of reading the rows.';
    create or replace view {{ scenario_store_schema() }}.part_readers as
    {#- Two joins, not one with OR: each is an index lookup in pg_depend. #}
    select
        part.relname as relation_name,
        rule.ev_class::regclass as reader
    from pg_class as part
    inner join pg_depend as dep
        on
            dep.refclassid = 'pg_class'::regclass
            and part.oid = dep.refobjid
            and dep.classid = 'pg_rewrite'::regclass
    inner join pg_rewrite as rule on dep.objid = rule.oid
    where
        part.relnamespace = '{{ scenario_store_schema() }}'::regnamespace
        and part.relkind = 'r'
    union
    select
        part.relname as relation_name,
        rule.ev_class::regclass as reader
    from pg_class as part
    inner join pg_inherits as inh on part.oid = inh.inhrelid
    inner join pg_depend as dep
        on
            dep.refclassid = 'pg_class'::regclass
            and inh.inhparent = dep.refobjid
            and dep.classid = 'pg_rewrite'::regclass
    inner join pg_rewrite as rule on dep.objid = rule.oid
    where
        part.relnamespace = '{{ scenario_store_schema() }}'::regnamespace
        and part.relkind = 'r';
    comment on view {{ scenario_store_schema() }}.part_readers is
    'Which view reads each table of schema store: directly (a branch of a view a build wrote) or as a partition of the partitioned table a published view reads (ingest/publish.py).';
    {{ scenario_store_packing_setup() }}
{% endmacro %}

{#-
    The relation clients read now for the model being built: the same name in
    the published schema (the build's schema without the suffix of the shadow
    build), or the model's own relation when dbt builds in place. None when it
    does not exist or is not a scenario_store view yet (a table from before:
    everything is computed anew).
-#}
{% macro scenario_store_previous() %}
    {%- set suffix = var('schema_suffix', '') -%}
    {%- set schema = this.schema -%}
    {%- if suffix and schema.endswith(suffix) -%}
        {%- set schema = schema[:(schema | length) - (suffix | length)] -%}
    {%- endif -%}
    {%- set relation = adapter.get_relation(this.database, schema, this.identifier) -%}
    {{ return(relation if relation is not none and relation.type == 'view' else none) }}
{% endmacro %}

{#- A relation's name once published: the shadow build's schema suffix removed.
    Function bodies (stored as text) must name the published relations. -#}
{% macro published_relation(relation) -%}
    {%- set suffix = var('schema_suffix', '') -%}
    {%- if suffix and relation.schema.endswith(suffix) -%}
        {{ return(relation.incorporate(path={
            'schema': relation.schema[:(relation.schema | length) - (suffix | length)]
        })) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}

{#-
    dbt's is_incremental(), extended to scenario_store models: true when the
    published view exists (its rows are what the model's SQL compares with) and
    no --full-refresh was asked for.
-#}
{% macro is_incremental() %}
    {%- if not execute -%}
        {{ return(false) }}
    {%- elif model.config.materialized == 'scenario_store' -%}
        {{ return(scenario_store_previous() is not none and not should_full_refresh()) }}
    {%- endif -%}
    {%- set relation = adapter.get_relation(this.database, this.schema, this.table) -%}
    {{ return(relation is not none
        and relation.type == 'table'
        and model.config.materialized == 'incremental'
        and not should_full_refresh()) }}
{% endmacro %}

{#- The registry rows of the tables a scenario_store view reads. -#}
{% macro scenario_store_parts_sql(view, model_name) -%}
    select parts.*
    from {{ scenario_store_schema() }}.scenario_parts as parts
    where
        parts.model_name = '{{ model_name }}'
        and parts.scenario_id is not null
        and parts.relation_name in (
            select readers.relation_name
            from {{ scenario_store_schema() }}.part_readers as readers
            where readers.reader = '{{ view.include(database=false) }}'::regclass
        )
{%- endmacro %}

{#-
    What the published rows of the model being built were computed from, one row
    per scenario (scenario_id, loaded_at, baseline_scenario_id,
    baseline_loaded_at, parameters_hashes), read from the registry: deciding what
    to rebuild reads no stored rows. Use where is_incremental() is true.
-#}
{% macro scenario_store_state() -%}
    ({{ scenario_store_parts_sql(scenario_store_previous(), model.name) }})
{%- endmacro %}

{#- Columns (name, SQL type) of relations, by relation name: one catalog query. -#}
{% macro scenario_store_columns(schema, names) %}
    {%- set query -%}
        select cls.relname, cols.column_name, cols.column_type
        from pg_class as cls
        inner join pg_namespace as nsp on cls.relnamespace = nsp.oid
        cross join lateral (
            select exists (
                select from pg_attribute as marker
                where marker.attrelid = cls.oid and marker.attname = 'packed_rows'
            ) as is_packed
        ) as shape
        cross join lateral (
            {#- a packed table (macros/publish/packing.sql): the rows it holds #}
            select unpacked.column_position, unpacked.column_name, unpacked.column_type
            from {{ scenario_store_schema() }}.unpacked_columns(cls.oid) as unpacked
            where shape.is_packed
            union all
            select att.attnum, att.attname::text, format_type(att.atttypid, att.atttypmod)
            from pg_attribute as att
            where
                not shape.is_packed
                and att.attrelid = cls.oid
                and att.attnum > 0
                and not att.attisdropped
        ) as cols
        where
            nsp.nspname = '{{ schema }}'
            and cls.relname in ('{{ names | join("', '") }}')
        order by cls.relname, cols.column_position
    {%- endset -%}
    {%- set columns = {} -%}
    {%- for row in run_query(query).rows -%}
        {%- do columns.setdefault(row[0], []).append({'name': row[1], 'type': row[2]}) -%}
    {%- endfor -%}
    {{ return(columns) }}
{% endmacro %}

{#- Name of a scenario's table: readable for usual scenario ids, hashed otherwise. -#}
{% macro scenario_store_part_name(identifier, scenario_id, token) -%}
    {%- if scenario_id is none -%}
        {%- set key = 'empty' -%}
    {%- elif modules.re.match('^[a-z0-9_]{1,12}$', scenario_id) -%}
        {%- set key = scenario_id -%}
    {%- else -%}
        {%- set key = 'h' ~ local_md5(scenario_id)[:11] -%}
    {%- endif -%}
    {{ return(identifier ~ '__' ~ key ~ '__' ~ token) }}
{%- endmacro %}

{#- One branch of the model's view: the table's columns in the view's order, its
    scenario as a constant, NULL for a column the table predates, and a filter
    on its own scenario_id column so that the table's key is usable. -#}
{% macro scenario_store_branch(part, view_columns, part_columns, store, sources={}) -%}
    {%- set present = {} -%}
    {%- for column in part_columns -%}{%- do present.update({column.name: column.type}) -%}{%- endfor -%}
    select
    {%- for column in view_columns %}
        {% if column.name == 'scenario_id' and part.scenario_id is not none -%}
            {{ "'" ~ (part.scenario_id | replace("'", "''")) ~ "'" }}::{{ column.type }}
        {%- elif column.name not in present -%}
            null::{{ column.type }}
        {%- elif present[column.name] != column.type -%}
            {{ adapter.quote(column.name) }}::{{ column.type }}
        {%- else -%}
            {{ adapter.quote(column.name) }}
        {%- endif %} as {{ adapter.quote(column.name) }}{{ ',' if not loop.last }}
    {%- endfor %}
    {%- if part.relation_name in sources %}
    from ({{ sources[part.relation_name] }}) as stored_rows
    {%- else %}
    from {{ store }}.{{ adapter.quote(part.relation_name) }}
    {%- endif %}
    {%- if part.scenario_id is not none and 'scenario_id' in present %}
    {#- Redundant for the rows, but lets a lookup use a key that starts with
        scenario_id (the contract's key of a table written for one scenario). #}
    where scenario_id = {{ "'" ~ (part.scenario_id | replace("'", "''")) ~ "'" }}
    {%- endif %}
{%- endmacro %}

{#- The SELECT of the rows each packed table of `names` holds, by table name
    (macros/publish/packing.sql); tables not packed are left out. -#}
{% macro scenario_store_unpacked_sources(store, names) %}
    {%- set sources = {} -%}
    {%- if names -%}
        {%- set query -%}
            select cls.relname, {{ store }}.unpacked_select(cls.oid)
            from pg_class as cls
            where
                cls.relnamespace = '{{ store }}'::regnamespace
                and cls.relname in ('{{ names | join("', '") }}')
                and exists (
                    select from pg_attribute as marker
                    where marker.attrelid = cls.oid and marker.attname = 'packed_rows'
                )
        {%- endset -%}
        {%- for row in run_query(query).rows -%}
            {%- do sources.update({row[0]: row[1]}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(sources) }}
{% endmacro %}

{% materialization scenario_store, adapter='postgres' %}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set store = scenario_store_schema() -%}
    {%- set token = invocation_id.replace('-', '')[:8] -%}
    {%- set staging_name = this.identifier ~ '__' ~ token -%}
    {%- set staging_relation = api.Relation.create(
        database=this.database, schema=store, identifier=staging_name, type='table'
    ) -%}
    {%- set staging = staging_relation.include(database=false) -%}
    {%- set grant_config = config.get('grants') -%}
    {%- set previous = scenario_store_previous() if not should_full_refresh() else none -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {#- 1. The rows of the scenarios this build computes, in one new table (with
        the contract's column types and keys when the model has one). -#}
    {% do run_query('drop table if exists ' ~ staging) %}
    {% call statement('main') %}
        {{ get_create_table_as_sql(False, staging_relation, sql) }}
    {% endcall %}
    {%- set computed = run_query(
        'select distinct scenario_id::text from ' ~ staging ~ ' where scenario_id is not null order by 1'
    ).columns[0].values() | list -%}

    {#- 2. The published tables kept: every scenario not computed anew, unless a
        pre_hook listed the scenarios the model may keep (pg_temp.scenario_store_keep). -#}
    {%- set kept = [] -%}
    {%- if previous is not none -%}
        {%- set keep_listed = run_query(
            "select to_regclass('pg_temp.scenario_store_keep') is not null"
        ).columns[0].values()[0] -%}
        {%- set kept_query -%}
            select published.scenario_id, published.relation_name
            from ({{ scenario_store_parts_sql(previous, model.name) }}) as published
            where
                true
                {% if computed %}
                    and published.scenario_id not in ('{{ computed | join("', '") }}')
                {% endif %}
                {% if keep_listed %}
                    and published.scenario_id in (select keep.scenario_id from pg_temp.scenario_store_keep as keep)
                {% endif %}
            order by published.scenario_id
        {%- endset -%}
        {%- for row in run_query(kept_query).rows -%}
            {%- do kept.append({'scenario_id': row[0], 'relation_name': row[1]}) -%}
        {%- endfor -%}
    {%- endif -%}
    {#- A keep list is for this model only, also when nothing was published
        before (a first build): left in the session, it would apply to the next
        scenario_store model this connection builds. -#}
    {% do run_query('drop table if exists pg_temp.scenario_store_keep') %}

    {#- 3. One table per computed scenario: the new table itself when it holds one
        scenario (no copy), else split. -#}
    {%- set created = [] -%}
    {%- set packed_by = config.get('packed_by', []) -%}
    {%- if packed_by and computed -%}
        {#- Packed (macros/publish/packing.sql): one row per scenario and key,
            its rows ordered by the rest of the contract's key. -#}
        {%- set row_order = [] -%}
        {%- for constraint in model.constraints if constraint.type == 'primary_key' -%}
            {%- for column in constraint.columns if column != 'scenario_id' and column not in packed_by -%}
                {%- do row_order.append(column) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- set lz4 = run_query(
            "select coalesce(bool_or('lz4' = any(enumvals)), false) from pg_settings"
            ~ " where name = 'default_toast_compression'"
        ).columns[0].values()[0] -%}
        {%- if lz4 -%}
            {#- lz4 compresses these rows ~15 % smaller than pglz, which keeps
                none of a value it cannot shrink by a quarter. -#}
            {% do run_query("set local default_toast_compression = 'lz4'") %}
        {%- endif -%}
        {%- for scenario_id in computed -%}
            {%- set name = scenario_store_part_name(this.identifier, scenario_id, token) -%}
            {%- set pack_query -%}
                select {{ store }}.packed_select(
                    '{{ staging }}'::regclass,
                    array['scenario_id', '{{ packed_by | join("', '") }}'],
                    array[{{ ("'" ~ (row_order | join("', '")) ~ "'") if row_order }}]::text[],
                    {{ "$f$scenario_id = '" ~ (scenario_id | replace("'", "''")) ~ "'$f$" }}
                )
            {%- endset -%}
            {% call statement('scenario_store_pack') %}
                create table {{ store }}.{{ adapter.quote(name) }} as
                {{ run_query(pack_query).columns[0].values()[0] }};
                alter table {{ store }}.{{ adapter.quote(name) }}
                    add primary key (scenario_id, {{ packed_by | join(', ') }});
            {% endcall %}
            {%- do created.append({'scenario_id': scenario_id, 'relation_name': name, 'keyed': true}) -%}
        {%- endfor -%}
        {% do run_query('drop table ' ~ staging) %}
    {%- elif computed | length == 1 -%}
        {%- set name = scenario_store_part_name(this.identifier, computed[0], token) -%}
        {% call statement('scenario_store_rename') %}
            alter table {{ staging }} rename to {{ adapter.quote(name) }};
        {% endcall %}
        {%- do created.append({'scenario_id': computed[0], 'relation_name': name, 'keyed': config.get('contract').enforced}) -%}
    {%- elif computed | length > 1 -%}
        {%- for scenario_id in computed -%}
            {%- set name = scenario_store_part_name(this.identifier, scenario_id, token) -%}
            {% call statement('scenario_store_split') %}
                create table {{ store }}.{{ adapter.quote(name) }} as
                select * from {{ staging }}
                where scenario_id = '{{ scenario_id | replace("'", "''") }}';
            {% endcall %}
            {%- do created.append({'scenario_id': scenario_id, 'relation_name': name, 'keyed': false}) -%}
        {%- endfor -%}
        {% do run_query('drop table ' ~ staging) %}
    {%- elif not kept -%}
        {#- No scenario at all: the empty table keeps the view's columns. -#}
        {%- set name = scenario_store_part_name(this.identifier, none, token) -%}
        {% do run_query('alter table ' ~ staging ~ ' rename to ' ~ adapter.quote(name)) %}
        {%- do created.append({'scenario_id': none, 'relation_name': name, 'keyed': true}) -%}
    {%- else -%}
        {% do run_query('drop table ' ~ staging) %}
    {%- endif -%}

    {#- Keys and indexes of the new tables, statistics for the planner, and
        their registry rows. Every key starts with scenario_id, constant in the
        table, and the column is declared distinct (n_distinct = -1): a generic
        plan (PostgREST's) then expects an unknown id to match few of a
        table's rows, as it does in every table but one, and reads each table
        of `scenario_id = any($1)`, which PostgreSQL does not prune, through
        its key instead of scanning it. A literal id keeps its exact estimate
        (the column's most common value). -#}
    {%- set key_columns = [] -%}
    {%- for constraint in model.constraints if constraint.type == 'primary_key' -%}
        {%- do key_columns.extend(constraint.columns) -%}
    {%- endfor -%}
    {%- set created_sources = scenario_store_unpacked_sources(
        store, created | map(attribute='relation_name') | list
    ) -%}
    {%- for part in created -%}
        {%- set names = scenario_store_columns(store, [part.relation_name])[part.relation_name]
            | map(attribute='name') | list -%}
        {% call statement('scenario_store_part') %}
            {%- if key_columns and not part.keyed %}
                alter table {{ store }}.{{ adapter.quote(part.relation_name) }}
                    add primary key ({{ key_columns | join(', ') }});
            {%- endif %}
            {%- for index in (config.get('indexes', []) if not packed_by else []) %}
                {%- set index_columns = index.columns | reject('equalto', 'scenario_id') | list %}
                {%- if index_columns %}
                    create index on {{ store }}.{{ adapter.quote(part.relation_name) }}
                        ({{ index_columns | join(', ') }});
                {%- endif %}
            {%- endfor %}
            {%- if part.scenario_id is not none and 'scenario_id' in names %}
                {#- Lets the publish step attach the table as its scenario's
                    partition without reading it (ingest/publish.py). #}
                alter table {{ store }}.{{ adapter.quote(part.relation_name) }}
                    add constraint scenario_store_scenario check (
                        scenario_id is not null
                        and scenario_id = {{ "'" ~ (part.scenario_id | replace("'", "''")) ~ "'" }}
                    );
                alter table {{ store }}.{{ adapter.quote(part.relation_name) }}
                    alter column scenario_id set (n_distinct = -1);
            {%- endif %}
            analyze {{ store }}.{{ adapter.quote(part.relation_name) }};
            insert into {{ store }}.scenario_parts (
                relation_name, model_name, scenario_id, invocation_id,
                loaded_at, baseline_scenario_id, baseline_loaded_at, parameters_hashes
            )
            select
                '{{ part.relation_name }}',
                '{{ model.name }}',
                {{ "'" ~ (part.scenario_id | replace("'", "''")) ~ "'" if part.scenario_id is not none else 'null' }},
                '{{ invocation_id }}',
                {{ 'max(loaded_at)' if 'loaded_at' in names else 'null::timestamp' }},
                {{ 'min(baseline_scenario_id)' if 'baseline_scenario_id' in names else 'null::text' }},
                {{ 'max(baseline_loaded_at)' if 'baseline_loaded_at' in names else 'null::timestamp' }},
                {{ "string_agg(distinct parameters_hash::text, ',' order by parameters_hash::text)"
                    if 'parameters_hash' in names else 'null::text' }}
            {%- if part.relation_name in created_sources %}
            from ({{ created_sources[part.relation_name] }}) as stored_rows;
            {%- else %}
            from {{ store }}.{{ adapter.quote(part.relation_name) }};
            {%- endif %}
        {% endcall %}
    {%- endfor -%}

    {#- 4. The view: its columns are those of the model's SQL when it computed a
        scenario, else the published view's (a column added by a code change
        appears NULL for tables written before it). -#}
    {%- set parts = (created + kept) | sort(attribute='relation_name') -%}
    {%- set part_columns = scenario_store_columns(store, parts | map(attribute='relation_name') | list) -%}
    {%- set sources = scenario_store_unpacked_sources(store, parts | map(attribute='relation_name') | list) -%}
    {%- if created -%}
        {%- set view_columns = part_columns[created[0].relation_name] -%}
    {%- else -%}
        {%- set view_columns = scenario_store_columns(previous.schema, [previous.identifier])[previous.identifier] -%}
    {%- endif -%}

    {%- if existing_relation is not none and existing_relation.type != 'view' -%}
        {{ adapter.drop_relation(existing_relation) }}
    {%- elif existing_relation is not none -%}
        {%- set existing_columns = scenario_store_columns(this.schema, [this.identifier])[this.identifier] -%}
        {%- if existing_columns != view_columns[:existing_columns | length] -%}
            {{ adapter.drop_relation(existing_relation) }}
        {%- endif -%}
    {%- endif -%}

    {% call statement('scenario_store_view') %}
        create or replace view {{ target_relation }} as
        {% for part in parts -%}
            {{ scenario_store_branch(part, view_columns, part_columns[part.relation_name], store, sources) }}
            {% if not loop.last %}union all{% endif %}
        {% endfor %};
    {% endcall %}

    {% do persist_docs(target_relation, model) %}
    {% do apply_grants(target_relation, grant_config, should_revoke=true) %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
