{#-
    post_hook of fct_series_statistics_compact: creates (idempotently) the STABLE
    SQL function `<schema>.exceedance_curve(scenario_id, variable_key, period)`,
    the full exceedance curve of one series for charts, computed on request with
    the same plotting position as the exceedance statistics (statistics_parameters.
    plotting_position_a): the n non-NULL values of the period ranked in decreasing
    order (ties take consecutive ranks), the i-th exceeded with probability
    (i - a) / (n + 1 - 2a), in percent. `period` is `all` (every month, the
    default), a water month `1`-`12`, or `annual` (the annual values of the
    annual statistics: water-year volumes in TAF for flows, annual means
    otherwise, complete years only). Unknown series or periods return no rows.
    EXECUTE is revoked from PUBLIC; the API grants it where it exposes it.
    A SQL-standard body (BEGIN ATOMIC): parsed when created, it reads the
    relations of its own build, whatever schema they are published under.
-#}
{% macro statistics_create_exceedance_curve_function() %}
    {%- set function_name = this.schema ~ '.exceedance_curve' -%}
    create or replace function {{ function_name }}(
        scenario_id text,
        variable_key text,
        period text default 'all'
    )
    returns table (exceedance_pct double precision, value double precision, value_rank integer)
    language sql
    stable
    parallel safe
    begin atomic
        with

        parameters as (
            select plotting_position_a
            from {{ ref('int_statistics_parameters') }}
        ),

        monthly_values as (
            select month_values.value
            from {{ ref('fct_series_values') }} as series
            cross join lateral unnest(series.monthly_values) with ordinality
                as month_values (value, month_index)
            where
                series.scenario_id = exceedance_curve.scenario_id
                and series.variable_key = exceedance_curve.variable_key
                and month_values.value is not null
                and exceedance_curve.period <> 'annual'
                and (
                    exceedance_curve.period = 'all'
                    or {{ water_month_at(water_month('series.start_month'), 'month_values.month_index') }}::text
                    = exceedance_curve.period
                )
        ),

        annual_values as (
            select annual.annual_value as value
            from {{ ref('int_annual_values_selected') }} as annual
            where
                annual.scenario_id = exceedance_curve.scenario_id
                and annual.variable_key = exceedance_curve.variable_key
                and annual.is_counted
                and annual.annual_value is not null
                and exceedance_curve.period = 'annual'
        ),

        period_values as (
            select monthly_values.value from monthly_values
            union all
            select annual_values.value from annual_values
        ),

        ranked as (
            select
                period_values.value,
                row_number() over (order by period_values.value desc) as value_rank,
                count(*) over () as value_count
            from period_values
        )

        select
            100 * (ranked.value_rank - parameters.plotting_position_a)
            / (ranked.value_count + 1 - 2 * parameters.plotting_position_a) as exceedance_pct,
            ranked.value,
            ranked.value_rank::integer as value_rank
        from ranked
        cross join parameters
        order by ranked.value_rank;
    end;

    comment on function {{ function_name }}(text, text, text) is
        'Full exceedance curve of one series (scenario_id, variable_key) over a period '
        '(all = every month, 1-12 = a water month, annual = annual values): every non-NULL value '
        'ranked in decreasing order (ties take consecutive ranks), the i-th of n exceeded '
        '(equalled or exceeded) with probability (i - a) / (n + 1 - 2a), in percent, where a is '
        'statistics_parameters.plotting_position_a (0 = Weibull, i / (n + 1)): the same plotting '
        'position as the exceedance statistics. Unknown series or periods return no rows.';

    revoke execute on function {{ function_name }}(text, text, text) from public;
{% endmacro %}
