{#-
    post_hook of fct_series_statistics_compact: creates (idempotently) the
    function `<schema>.series_statistics_of(statistics, scenario_id,
    variable_key)`, the statistics rows of one series, with which
    api_comparisons looks up a scenario's baseline.

    Why a function: the baseline's id is known only once dim_scenarios is read,
    so a lookup written in the view is pruned to the baseline's partition as it
    runs: its plan holds a scan of every scenario's partition, planned (3.5 ms
    for one series at 102 full-size scenarios) or, generic, started on every
    request (1.2-2.0 ms of execution, 0.6-0.8 ms with this function). PL/pgSQL
    keeps one generic plan per connection, pruned when each lookup starts.

    `statistics` is the caller's fct_series_statistics_compact (a regclass
    constant in the view, so it follows the view when the publish step renames
    its schema); the lookup reads the relation of that name in that schema,
    whichever schema it is now. The body is static SQL, SECURITY DEFINER with
    a fixed search_path (extended by the relation's own schema for this call
    only), like the API's functions: web_anon needs no privilege on the marts.
    PARALLEL UNSAFE (the default): a search_path cannot be set in a parallel
    query.
-#}
{% macro statistics_create_series_statistics_of_function() %}
    {%- set function_name = this.schema ~ '.series_statistics_of' -%}
    create or replace function {{ function_name }}(
        statistics regclass,
        scenario_id text,
        variable_key text
    )
    returns table (
        period text,
        mean double precision,
        sd double precision,
        cv double precision,
        quantile_values double precision [],
        loaded_at timestamp
    )
    language plpgsql
    stable
    strict
    security definer
    set search_path = pg_catalog, pg_temp
    set plan_cache_mode = force_generic_plan
    as $function$
    declare
        -- regclass prints schema-qualified outside the search_path: [schema, name]
        statistics_name text [] := pg_catalog.parse_ident(series_statistics_of.statistics::text);
    begin
        if statistics_name[2] is distinct from '{{ this.identifier }}' then
            raise exception using
                errcode = '22023',
                message = format(
                    'series_statistics_of reads {{ this.identifier }}, not %s',
                    series_statistics_of.statistics
                );
        end if;
        -- Until the function returns: its SET clause restores the search_path.
        perform pg_catalog.set_config(
            'search_path', format('pg_catalog, %I, pg_temp', statistics_name[1]), true
        );
        return query
            select
                series.period,
                series.mean,
                series.sd,
                series.cv,
                series.quantile_values,
                series.loaded_at
            from {{ this.identifier }} as series
            where
                series.scenario_id = series_statistics_of.scenario_id
                and series.variable_key = series_statistics_of.variable_key;
    end
    $function$;

    comment on function {{ function_name }}(regclass, text, text) is
        'The statistics rows of one series (scenario_id, variable_key) of the given '
        'fct_series_statistics_compact, whichever schema it is in now: the baseline lookup of '
        'api_comparisons, planned once per connection and pruned to the scenario''s partition '
        'when it starts.';

    revoke execute on function {{ function_name }}(regclass, text, text) from public;
    grant execute on function {{ function_name }}(regclass, text, text) to {{ var("api_anon_role") }};
{% endmacro %}
