{#-
    Exact schema names in every target (raw_dss, seeds, staging, intermediate,
    marts, api, ops): PostgREST serves a fixed `api` schema, so dev and CI are
    isolated by database, never by a schema prefix.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
