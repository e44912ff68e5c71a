{#- Generic test: the combination of `columns` is unique (the dbt hub is unreachable, so no dbt_utils). -#}
{% test unique_combination(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as n_rows
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
