{#-
    The long shape of compact series: one row per series and month from a
    relation with (scenario_id, variable_key, start_month, monthly_values,
    taf_per_cfs_day). Values are positional from start_month; water year and
    water month follow the calendar macros; flows (a non-NULL factor) also get
    their monthly volume in TAF. Used by staging and by the monthly fact view.
-#}
{% macro unnest_monthly_values(relation, extra_columns=[]) %}
    select
        series.scenario_id,
        {%- for column in extra_columns %}
        series.{{ column }},
        {%- endfor %}
        series.variable_key,
        (series.start_month + (vals.month_index - 1) * interval '1 month')::date as month_date,
        {{ water_year("series.start_month + (vals.month_index - 1) * interval '1 month'") }}
            as water_year,
        {{ water_month("series.start_month + (vals.month_index - 1) * interval '1 month'") }}
            as water_month,
        vals.value::double precision as value,
        {{ cfs_to_taf('vals.value', "series.start_month + (vals.month_index - 1) * interval '1 month'", 'series.taf_per_cfs_day') }}
            as value_taf
    from {{ relation }} as series
    cross join lateral unnest(series.monthly_values) with ordinality as vals (value, month_index)
{% endmacro %}
