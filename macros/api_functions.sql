{#-
    The API's parameterised reads (`/rpc/<name>`), created by the post_hooks of
    the api views they belong to. Every function is STABLE (PostgREST calls it
    with GET, in a read-only transaction), STRICT (a NULL argument returns no
    rows), runs static SQL only (no dynamic SQL: request values are bound as
    arguments, never spliced into a statement), and is SECURITY DEFINER with a
    fixed search_path, like a view: web_anon reads the marts through it without
    any privilege on them. EXECUTE is revoked from PUBLIC and granted to
    web_anon only; the comment is the OpenAPI description.
-#}

{% macro api_function_privileges(signature, comment) %}
    revoke all on function {{ signature }} from public;
    grant execute on function {{ signature }} to {{ var("api_anon_role") }};
    comment on function {{ signature }} is {{ api_quote_literal(comment) }};
{% endmacro %}

{#- A Jinja string as a SQL string literal (for comments written in this file). -#}
{% macro api_quote_literal(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}

{#- The largest number of scenarios api.scenario_timeseries accepts in one request. -#}
{% macro api_timeseries_max_scenarios() %}{{ return(var("api_timeseries_max_scenarios", 8)) }}{% endmacro %}

{#-
    Month arithmetic on integers for the API's unnesting of the per-series
    arrays: month number m = 12 x year + month - 1 of the month_index-th value
    (1-based) of a series starting at start_month; its first day, water year
    (m + 3) / 12 and water month (m + 3) % 12 + 1 (as macros/calendar.sql defines
    them). ~10x cheaper per value than date + interval, which the API's latency
    needs.
-#}
{% macro api_month_number(start_month, month_index) -%}
    (extract(year from {{ start_month }})::integer * 12
    + extract(month from {{ start_month }})::integer - 2 + ({{ month_index }})::integer)
{%- endmacro %}

{% macro api_month_date(month_number) -%}
    make_date(({{ month_number }}) / 12, ({{ month_number }}) % 12 + 1, 1)
{%- endmacro %}

{% macro api_water_year(month_number) -%}
    ((({{ month_number }}) + 3) / 12)
{%- endmacro %}

{% macro api_water_month(month_number) -%}
    ((({{ month_number }}) + 3) % 12 + 1)
{%- endmacro %}

{% macro api_create_exceedance_function() %}
    {%- set curve = ref('fct_series_statistics_compact').schema ~ '.exceedance_curve' -%}
    -- Dropped first: create or replace cannot change the columns returned.
    drop function if exists {{ this.schema }}.exceedance(text, text, text);
    create or replace function {{ this.schema }}.exceedance(
        scenario_id text,
        variable_key text,
        period text default 'all'
    )
    returns table (exceedance_pct double precision, value double precision, value_rank integer)
    language sql
    stable
    strict
    security definer
    set search_path = pg_catalog, pg_temp
    as $function$
        select
            curve.exceedance_pct,
            curve.value,
            curve.value_rank
        from {{ curve }}(
            exceedance.scenario_id, exceedance.variable_key, exceedance.period
        ) as curve
        order by curve.value_rank
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
    language sql
    stable
    strict
    security definer
    set search_path = pg_catalog, pg_temp
    as $function$
        select
            statistics_a.period,
            statistics_a.statistic_code,
            statistics_a.value_unit,
            statistics_a.value as value_a,
            statistics_b.value as value_b,
            statistics_b.value - statistics_a.value as difference,
            100 * (statistics_b.value - statistics_a.value)
            / nullif(abs(statistics_a.value), 0) as percent_difference
        from {{ ref('fct_series_statistics') }} as statistics_a
        inner join {{ ref('fct_series_statistics') }} as statistics_b
            on
                statistics_a.period = statistics_b.period
                and statistics_a.statistic_code = statistics_b.statistic_code
        inner join {{ ref('statistic_types') }} as statistic_types
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
            statistic_types.display_order
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
        month_date date,
        value double precision
    )
    language plpgsql
    stable
    strict
    security definer
    set search_path = pg_catalog, pg_temp
    as $function$
    begin
        -- A cap keeps one request within PostgREST's db-max-rows (8 x 1,200 months).
        if cardinality(scenario_timeseries.scenario_ids) > {{ max_scenarios }} then
            raise exception using
                errcode = '22023',
                message = format(
                    'scenario_timeseries: at most {{ max_scenarios }} scenario ids per request, got %s',
                    cardinality(scenario_timeseries.scenario_ids)
                ),
                hint = 'Split the scenarios over several requests.';
        end if;
        -- Rows come out in the order requested, then by month (integer sort keys);
        -- the month is computed from the series' first month number once per series.
        return query
            select
                series.scenario_id,
                {{ api_month_date('series_start.month_number + vals.month_index::integer') }}
                as month_date,
                vals.value::double precision as value
            from {{ ref('fct_series_values') }} as series
            cross join lateral (
                select {{ api_month_number('series.start_month', 0) }} as month_number
            ) as series_start
            cross join lateral unnest(series.monthly_values) with ordinality
                as vals (value, month_index)
            where
                series.variable_key = scenario_timeseries.variable_key
                and series.scenario_id = any(scenario_timeseries.scenario_ids)
            order by
                array_position(scenario_timeseries.scenario_ids, series.scenario_id),
                vals.month_index;
    end
    $function$;
    {{ api_function_privileges(
        this.schema ~ '.scenario_timeseries(text, text[])',
        'GET /rpc/scenario_timeseries?variable_key=S_SHSTA/STORAGE&scenario_ids={s0020,s0029}: the monthly '
        ~ 'values of one series (variable_key, B/C in upper case) in one or more scenarios, one row '
        ~ '(scenario_id, month_date, value) per scenario and month, ordered by the scenarios as '
        ~ 'requested and then by month (water years and TAF volumes: /timeseries). At most '
        ~ max_scenarios ~ ' scenario ids per request (more is a 400 error, SQLSTATE 22023, so the '
        ~ 'rows always fit db-max-rows); unknown ids return no rows; a NULL argument returns no rows.'
    ) }}
{% endmacro %}
