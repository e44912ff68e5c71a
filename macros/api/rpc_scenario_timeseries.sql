{#- GET /rpc/scenario_timeseries: created by the post_hook of api_timeseries (attributes: functions.sql). -#}
{#- The largest number of scenarios api.scenario_timeseries accepts in one request. -#}
{% macro api_timeseries_max_scenarios() %}{{ return(var("api_timeseries_max_scenarios", 8)) }}{% endmacro %}

{% macro api_create_timeseries_function() %}
    {%- set max_scenarios = api_timeseries_max_scenarios() | int -%}
    -- Dropped first: create or replace cannot change the columns returned. Not named
    -- `timeseries` like the view: dbt 1.11 lists functions as relations, so a function
    -- of the view's name makes dbt rename a view that is not there after a cascade drop.
    drop function if exists {{ this.schema }}.timeseries(text, text[]);
    drop function if exists {{ this.schema }}.scenario_timeseries(text, text[]);
    create or replace function {{ this.schema }}.scenario_timeseries(
        variable_key text,
        scenario_ids text []
    )
    returns table (
        scenario_id text,
        unit_code text,
        start_month date,
        month_count integer,
        month_dates date [],
        monthly_values double precision []
    )
    {{ api_function_attributes() }}
    as $function$
    declare
        requested_id text;
        returned text[] := '{}';
    begin
        -- A cap keeps one response bounded (8 series of 1,200 months at most).
        if cardinality(scenario_timeseries.scenario_ids) > {{ max_scenarios }} then
            raise exception using
                errcode = '22023',
                message = format(
                    'scenario_timeseries: at most {{ max_scenarios }} scenario ids per request, got %s',
                    cardinality(scenario_timeseries.scenario_ids)
                ),
                hint = 'Split the scenarios over several requests.';
        end if;
        -- One row per series, in the order the scenarios were requested (a repeated
        -- id once); month_dates and monthly_values are aligned arrays (integer month
        -- arithmetic per month). One lookup per scenario, its id a parameter of the
        -- cached generic plan, which is pruned to that scenario's table when it
        -- starts. `scenario_id = any(<array parameter>)` is not pruned and read
        -- every scenario's table; a lateral lookup per id is pruned only as it runs,
        -- after every scenario's index was opened: both grew with the number of
        -- scenarios.
        foreach requested_id in array scenario_timeseries.scenario_ids loop
            continue when requested_id is null or requested_id = any(returned);
            returned := returned || requested_id;
            return query
                select
                    series.scenario_id,
                    series.unit_code,
                    series.start_month,
                    series.month_count,
                    array(
                        select {{ api_month_date('first_month.month_number + month_offset') }}
                        from generate_series(0, series.month_count - 1) as month_offset
                        order by month_offset
                    ) as month_dates,
                    series.monthly_values
                from {{ published_relation(ref('fct_series_values')) }} as series
                cross join {{ api_series_first_month('series') }}
                where
                    series.variable_key = scenario_timeseries.variable_key
                    and series.scenario_id = requested_id;
        end loop;
    end
    $function$;
    {{ api_function_privileges(
        this.schema ~ '.scenario_timeseries(text, text[])',
        'GET /rpc/scenario_timeseries?variable_key=S_SHSTA/STORAGE&scenario_ids={s0020,s0029}: the monthly '
        ~ 'values of one series (variable_key, B/C in upper case) in one or more scenarios, for '
        ~ 'charts: one row per scenario, in the order requested, with the aligned arrays '
        ~ 'month_dates (first day of each month, in order) and monthly_values (the values in the '
        ~ 'unit unit_code, null where the model wrote a missing value), plus start_month and '
        ~ 'month_count. One row per month instead (with water years and TAF volumes): /timeseries. '
        ~ 'At most ' ~ max_scenarios ~ ' scenario ids per request (more is a 400 error, SQLSTATE '
        ~ '22023); unknown ids return no row; a NULL argument returns no rows.'
    ) }}
{% endmacro %}
