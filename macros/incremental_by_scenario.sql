{#-
    Incremental by scenario: the scenarios whose latest load time in `upstream`
    differs from what the published model (scenario_store_previous) was built from, i.e. new or
    re-ingested scenarios. scenario_store
    models use it so a build computes only those scenarios.
-#}
{% macro scenarios_changed_since_last_build(upstream) %}
    select latest.scenario_id
    from (
        select scenario_id, max(loaded_at) as loaded_at
        from {{ upstream }}
        group by scenario_id
    ) as latest
    left join {{ scenario_store_state() }} as built on latest.scenario_id = built.scenario_id
    where built.loaded_at is distinct from latest.loaded_at
{% endmacro %}

