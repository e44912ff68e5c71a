{#-
    The API's parameterised reads (`/rpc/<name>`), created by the post_hooks of
    the api views they belong to. Every function is STABLE (PostgREST calls it
    with GET, in a read-only transaction), STRICT (a NULL argument returns no
    rows), runs static SQL only (no dynamic SQL: request values are bound as
    arguments, never spliced into a statement), and is SECURITY DEFINER with a
    fixed search_path, like a view: web_anon reads the marts through it without
    any privilege on them. EXECUTE is revoked from PUBLIC and granted to
    web_anon only; the comment is the OpenAPI description.

    They are PL/pgSQL with `return query` (once, or once per requested scenario
    in scenario_timeseries), not SQL functions: a SECURITY
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
