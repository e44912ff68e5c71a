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
        -- One row per series, in the order the scenarios were requested; month_dates
        -- and monthly_values are aligned arrays (integer month arithmetic per month).
        -- Each requested scenario is looked up on its own (a lateral subquery given
        -- its id): the generic plan prunes the partitioned table to that scenario's
        -- table when the lookup runs. `scenario_id = any(<array parameter>)` cannot
        -- be pruned and read every scenario's table, a cost that grew with their number.
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
            from (
                select requested_ids.scenario_id, min(requested_ids.position) as position
                from unnest(scenario_timeseries.scenario_ids)
                    with ordinality as requested_ids (scenario_id, position)
                group by requested_ids.scenario_id
            ) as requested
            cross join lateral (
                select * from {{ published_relation(ref('fct_series_values')) }} as scenario_series
                where
                    scenario_series.variable_key = scenario_timeseries.variable_key
                    and scenario_series.scenario_id = requested.scenario_id
                offset 0
            ) as series
            cross join {{ api_series_first_month('series') }}
            order by requested.position;
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
