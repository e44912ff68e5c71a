{#- The long shapes: one compact row as (statistic_code, value) rows. -#}

{#-
    Lateral subquery unpivoting one compact statistics row (alias `compact`)
    into (statistic_code, value) rows: mean, sd, cv, then the quantile
    statistics named by parameters.quantile_codes.
-#}
{% macro statistics_unpivot(compact, parameters) -%}
    (
        select
            'mean' as statistic_code,
            {{ compact }}.mean as value
        union all
        select
            'sd' as statistic_code,
            {{ compact }}.sd as value
        union all
        select
            'cv' as statistic_code,
            {{ compact }}.cv as value
        union all
        select
            quantiles.statistic_code,
            quantiles.value
        from unnest({{ parameters }}.quantile_codes, {{ compact }}.quantile_values)
            as quantiles (statistic_code, value)
    )
{%- endmacro %}

{#-
    Lateral subquery unpivoting one compact comparison row (both sides' values,
    the differences) into (statistic_code, value, baseline_value, difference,
    percent_difference) rows.
-#}
{% macro statistics_unpivot_comparison(comparison, parameters) -%}
    (
        {%- for moment in ['mean', 'sd', 'cv'] %}
        select
            '{{ moment }}' as statistic_code,
            {{ comparison }}.{{ moment }} as value,
            {{ comparison }}.baseline_{{ moment }} as baseline_value,
            {{ comparison }}.{{ moment }}_difference as difference,
            {{ comparison }}.{{ moment }}_percent_difference as percent_difference
        union all
        {%- endfor %}
        select
            quantiles.statistic_code,
            quantiles.value,
            quantiles.baseline_value,
            quantiles.difference,
            quantiles.percent_difference
        from unnest(
            {{ parameters }}.quantile_codes,
            {{ comparison }}.quantile_values,
            {{ comparison }}.baseline_quantile_values,
            {{ comparison }}.quantile_differences,
            {{ comparison }}.quantile_percent_differences
        ) as quantiles (statistic_code, value, baseline_value, difference, percent_difference)
    )
{%- endmacro %}
