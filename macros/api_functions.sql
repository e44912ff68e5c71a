{#-
    The API's parameterised reads (`/rpc/<name>`), created by the post_hooks of
    the api views they belong to. Every function is STABLE (PostgREST calls it
    with GET, in a read-only transaction), STRICT (a NULL argument returns no
    rows), runs static SQL only (no dynamic SQL: request values are bound as
    arguments, never spliced into a statement), and is SECURITY DEFINER with a
    fixed search_path, like a view: web_anon reads the marts through it without
    any privilege on them. EXECUTE is revoked from PUBLIC and granted to
    web_anon only; the comment is the OpenAPI description.

    They are PL/pgSQL with one `return query`, not SQL functions: a SECURITY
    DEFINER SQL function cannot be inlined and PostgreSQL 15 plans its body anew
    on every call (7 ms for the exceedance curve's body, twice its execution),
    while PL/pgSQL keeps the plan for the connection's lifetime, which is
    PostgREST's pooled connection. `plan_cache_mode = force_generic_plan` makes
    it keep one plan: left to choose, PostgreSQL compares the generic plan's
    cost (which counts every branch a parameter may select, e.g. the annual
    branch of the exceedance curve) with a custom plan's and replans on every
    call. The generic plans use the same primary-key index scans.
-#}

{#- The attributes every API function has (see above). -#}
{% macro api_function_attributes() -%}
    language plpgsql
    stable
    strict
    security definer
    set search_path = pg_catalog, pg_temp
    set plan_cache_mode = force_generic_plan
{%- endmacro %}

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
    arrays: month number m = 12 x year + month - 1; the i-th value (1-based) of
    a series is in month m0 + i - 1, m0 its first month's; a month's first day,
    water year (m + 3) / 12 and water month (m + 3) % 12 + 1 (as
    macros/calendar.sql defines them). ~10x cheaper per value than
    date + interval, which the API's latency needs.

    api_series_first_month(series) is a lateral subquery giving m0 once per
    series (`first_month.month_number`): its `offset 0` keeps the planner from
    pulling extract() (numeric arithmetic) into every value's expression, which
    made the per-value month 5x dearer.
-#}
{% macro api_series_first_month(series) -%}
    lateral (
        select first_day.month_number
        from (
            values (
                extract(year from {{ series }}.start_month)::integer * 12
                + extract(month from {{ series }}.start_month)::integer - 1
            )
        ) as first_day (month_number)
        offset 0
    ) as first_month
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
            100 * (statistics_b.value - statistics_a.value)
            / nullif(abs(statistics_a.value), 0) as percent_difference
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
                and series.scenario_id = any(scenario_timeseries.scenario_ids)
            order by array_position(scenario_timeseries.scenario_ids, series.scenario_id);
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
