{#- GET /rpc/compare_scenarios: created by the post_hook of api_comparisons (attributes: functions.sql). -#}
{% macro api_create_compare_scenarios_function() %}
    -- Dropped first: create or replace cannot change the columns returned.
    drop function if exists {{ this.schema }}.compare_scenarios(text, text, text);
    create or replace function {{ this.schema }}.compare_scenarios(
        scenario_a text,
        scenario_b text,
        variable_key text
    )
    returns table (
        period text,
        statistic_code text,
        value_unit text,
        value_a double precision,
        value_b double precision,
        difference double precision,
        percent_difference double precision
    )
    {{ api_function_attributes() }}
    as $function$
    begin
        return query
        select
            statistics_a.period,
            statistics_a.statistic_code,
            statistics_a.value_unit,
            statistics_a.value as value_a,
            statistics_b.value as value_b,
            statistics_b.value - statistics_a.value as difference,
            {{ statistics_percent_difference('statistics_b.value', 'statistics_a.value') }}
                as percent_difference
        from {{ published_relation(ref('fct_series_statistics')) }} as statistics_a
        inner join {{ published_relation(ref('fct_series_statistics')) }} as statistics_b
            on
                statistics_a.period = statistics_b.period
                and statistics_a.statistic_code = statistics_b.statistic_code
        inner join {{ published_relation(ref('statistic_types')) }} as statistic_types
            on statistics_a.statistic_code = statistic_types.statistic_code
        where
            statistics_a.scenario_id = compare_scenarios.scenario_a
            and statistics_a.variable_key = compare_scenarios.variable_key
            and statistics_b.scenario_id = compare_scenarios.scenario_b
            and statistics_b.variable_key = compare_scenarios.variable_key
        order by
            array_position(
                array['all', 'annual', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'],
                statistics_a.period
            ),
            statistic_types.display_order;
    end
    $function$;
    {{ api_function_privileges(
        this.schema ~ '.compare_scenarios(text, text, text)',
        'GET /rpc/compare_scenarios?scenario_a=s0020&scenario_b=s0029&variable_key=S_SHSTA/STORAGE: '
        ~ 'every general statistic (see /statistics) of one series in two scenarios, for any two '
        ~ 'loaded scenarios: value_b - value_a as difference and 100 x difference / |value_a| as '
        ~ 'percent_difference (NULL when value_a is 0), one row per period (all, annual, 1-12) and '
        ~ 'statistic, in that order. With scenario_a the baseline it equals /comparisons. '
        ~ 'Unknown ids and NULL arguments return no rows.'
    ) }}
{% endmacro %}
