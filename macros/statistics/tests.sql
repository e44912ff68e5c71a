{#- Generic test: every non-NULL value of the column lies in [min_value, max_value]
    (the dbt hub is unreachable, so no dbt_utils.accepted_range). -#}
{% test statistics_between(model, column_name, min_value, max_value=none) %}
    select {{ column_name }} as out_of_range_value
    from {{ model }}
    where
        {{ column_name }} < {{ min_value }}
        {%- if max_value is not none %}
            or {{ column_name }} > {{ max_value }}
        {%- endif %}
{% endtest %}

{#- Generic test: the model holds exactly one row. -#}
{% test statistics_single_row(model) %}
    select count(*) as row_count
    from {{ model }}
    having count(*) != 1
{% endtest %}
