{#-
    Exact schema names in every target (raw_dss, seeds, staging, intermediate,
    marts, api, ops): PostgREST serves a fixed `api` schema, so dev and CI are
    isolated by database, never by a schema prefix.

    `coeqwal build` builds into shadow schemas (var schema_suffix, `__next`:
    `marts__next`, `api__next`, ...) and publishes them by renaming
    (ingest/publish.py). Test failures (ops_audit) are written in place: they
    are the record of this build, published or not.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set name = (custom_schema_name or target.schema) | trim -%}
    {%- if node is not none and node.resource_type == 'test' -%}
        {{ name }}
    {%- else -%}
        {{ name ~ var('schema_suffix', '') }}
    {%- endif -%}
{%- endmacro %}
