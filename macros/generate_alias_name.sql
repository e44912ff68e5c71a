{#-
    API views are REST resources, so their relation name is the URL:
    `models/api/api_scenarios.sql` becomes `api.scenarios` (`GET /scenarios`).
    The `api_` prefix keeps dbt node names unique next to the seeds and marts
    (a seed `scenarios` and a view `api.scenarios` would otherwise collide).
-#}
{% macro generate_alias_name(custom_alias_name=none, node=none) -%}
    {%- if custom_alias_name -%}
        {{ custom_alias_name | trim }}
    {%- elif node.resource_type == 'model' and node.fqn[1] == 'api' and node.name.startswith('api_') -%}
        {{ node.name[4:] }}
    {%- elif node.version -%}
        {{ return(node.name ~ "_v" ~ (node.version | replace(".", "_"))) }}
    {%- else -%}
        {{ node.name }}
    {%- endif -%}
{%- endmacro %}
