{#- GET /rpc/exceedance: created by the post_hook of api_statistics (attributes: functions.sql). -#}
{% macro api_create_exceedance_function() %}
    {%- set curve = published_relation(ref('fct_series_statistics_compact')).schema ~ '.exceedance_curve' -%}
    -- Dropped first: create or replace cannot change the columns returned.
    drop function if exists {{ this.schema }}.exceedance(text, text, text);
    create or replace function {{ this.schema }}.exceedance(
        scenario_id text,
        variable_key text,
        period text default 'all'
    )
    returns table (exceedance_pct double precision, value double precision, value_rank integer)
    {{ api_function_attributes() }}
    as $function$
    begin
        return query
            select
                curve.exceedance_pct,
                curve.value,
                curve.value_rank
            from {{ curve }}(
                exceedance.scenario_id, exceedance.variable_key, exceedance.period
            ) as curve
            order by curve.value_rank;
    end
    $function$;
    {{ api_function_privileges(
        this.schema ~ '.exceedance(text, text, text)',
        'GET /rpc/exceedance?scenario_id=s0020&variable_key=S_SHSTA/STORAGE&period=all: the full '
        ~ 'exceedance curve of one series over a period (all = every month, 1-12 = a water month '
        ~ 'with 1 = October, annual = annual values), one row per non-NULL value in decreasing '
        ~ 'order: exceedance_pct = 100 (rank - a) / (n + 1 - 2a), the plotting position of the '
        ~ 'exceedance statistics (Weibull by default). Unknown scenarios, variables or periods '
        ~ 'and NULL arguments return no rows. Wraps marts.exceedance_curve.'
    ) }}
{% endmacro %}
