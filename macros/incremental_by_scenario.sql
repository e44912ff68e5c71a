{#-
    Incremental by scenario: the scenarios whose latest load time in `upstream`
    differs from what the current model (`this`) was built from, i.e. new or
    re-ingested scenarios. Models use it with
    `incremental_strategy='delete+insert', unique_key='scenario_id'`, so a build
    recomputes only those scenarios and replaces their rows.
-#}
{% macro scenarios_changed_since_last_build(upstream) %}
    select latest.scenario_id
    from (
        select scenario_id, max(loaded_at) as loaded_at
        from {{ upstream }}
        group by scenario_id
    ) as latest
    left join (
        select scenario_id, max(loaded_at) as loaded_at
        from {{ this }}
        group by scenario_id
    ) as built on latest.scenario_id = built.scenario_id
    where built.loaded_at is distinct from latest.loaded_at
{% endmacro %}

