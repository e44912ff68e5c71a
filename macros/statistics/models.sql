{#-
    The bodies of the statistics marts that exist twice: once over every year
    (fct_series_*) and once per water-year type (fct_year_type_*). The two
    differ only by their relations and the extra key columns (`extra_keys`:
    [] or ['year_type_source', 'year_type_code']), so each body is written
    once here; documented in _statistics__macros.yml.
-#}

{#- Two statistics rows describe the same thing. Several keys are one
    equality of arrays: the planner's estimate of one equality per key made
    a series' rows look like one (docs/scaling.md). -#}
{% macro statistics_key_match(left, right, keys) -%}
    {%- if keys | length == 1 -%}
        {{ left }}.{{ keys[0] }} = {{ right }}.{{ keys[0] }}
    {%- else -%}
        array[
            {%- for key in keys %}
            {{ left }}.{{ key }}::text{{ ',' if not loop.last }}
            {%- endfor %}
        ] = array[
            {%- for key in keys %}
            {{ right }}.{{ key }}::text{{ ',' if not loop.last }}
            {%- endfor %}
        ]
    {%- endif -%}
{%- endmacro %}

{#- The long, tidy shape of a compact statistics mart: one row per key and statistic. -#}
{% macro statistics_long_model(compact_relation, extra_keys=[]) %}
with

compact as (
    select * from {{ compact_relation }}
),

parameters as (
    select * from {{ ref('int_statistics_parameters') }}
),

final as (
    select
        compact.scenario_id,
        compact.variable_key,
        {%- for key in extra_keys %}
            compact.{{ key }},
        {%- endfor %}
        compact.period,
        unpivoted.statistic_code,
        case when unpivoted.statistic_code = 'cv' then 'NONE' else compact.value_unit end
            as value_unit,
        unpivoted.value,
        compact.value_count,
        compact.missing_count
    from compact
    cross join parameters
    cross join lateral {{ statistics_unpivot('compact', 'parameters') }} as unpivoted
)

select * from final
{% endmacro %}

{#- The long shape of a comparisons view: one row per key, period and statistic. -#}
{% macro statistics_comparisons_long_model(comparisons_relation, extra_keys=[]) %}
with

comparisons as (
    select * from {{ comparisons_relation }}
),

parameters as (
    select * from {{ ref('int_statistics_parameters') }}
),

final as (
    select
        comparisons.scenario_id,
        comparisons.variable_key,
        {%- for key in extra_keys %}
            comparisons.{{ key }},
        {%- endfor %}
        comparisons.period,
        unpivoted.statistic_code,
        comparisons.baseline_scenario_id,
        case when unpivoted.statistic_code = 'cv' then 'NONE' else comparisons.value_unit end
            as value_unit,
        unpivoted.value,
        unpivoted.baseline_value,
        unpivoted.difference,
        unpivoted.percent_difference
    from comparisons
    cross join parameters
    cross join lateral {{ statistics_unpivot_comparison('comparisons', 'parameters') }} as unpivoted
)

select * from final
{% endmacro %}

{#-
    Every statistic of a compact statistics mart beside the same statistic of
    the scenario's baseline (dim_scenarios.baseline_scenario_id), the
    difference and the percent difference (NULL when the baseline is 0), one
    row per key present in both. A view: computed when read, from the two
    statistics rows, so it is always the published statistics' comparison and
    costs no storage and no build time.
-#}
{% macro statistics_comparisons_compact_model(statistics_relation, extra_keys=[], baseline_lookup='subquery') %}
{%- if baseline_lookup not in ['subquery', 'function'] or (baseline_lookup == 'function' and extra_keys) -%}
    {{ exceptions.raise_compiler_error(
        "statistics_comparisons_compact_model: baseline_lookup is 'subquery' or 'function' "
        ~ "(the function reads fct_series_statistics_compact: no extra keys), got "
        ~ baseline_lookup ~ " with " ~ extra_keys
    ) }}
{%- endif %}
with

{#- not materialized: each use is an index lookup on the filtered keys. #}
statistics as not materialized (
    select * from {{ statistics_relation }}
),

scenarios as (
    select * from {{ ref('dim_scenarios') }}
),

{#- The baseline's rows of a series, looked up from each of the scenario's
    rows with the baseline's id (dim_scenarios) and the series' key only: the
    planner places the lookup at the stored row of the series (one per series,
    macros/publish/packing.sql), before its periods are unpacked, so the
    baseline's series is read once per series, and a filter on the scenario,
    an id or a list of ids, reaches the lookup through the scenario's own
    rows. 'subquery' (offset 0 keeps it a subquery given the baseline's id) is
    pruned to the baseline's partition as it runs, so its plan holds every
    scenario's partition. 'function' (series_statistics_of, the API's lookup)
    plans one lookup per connection, pruned when it starts; the marts' views
    keep the subquery, which a build's tests read over the UNION ALL views of
    the build (docs/design.md). #}
final as (
    select
        current_rows.scenario_id,
        current_rows.variable_key,
        {%- for key in extra_keys %}
            current_rows.{{ key }},
        {%- endfor %}
        current_rows.period,
        scenarios.baseline_scenario_id,
        current_rows.value_unit,
        {%- for moment in ['mean', 'sd', 'cv'] %}
            current_rows.{{ moment }},
            baseline_rows.{{ moment }} as baseline_{{ moment }},
            current_rows.{{ moment }} - baseline_rows.{{ moment }} as {{ moment }}_difference,
            {{ statistics_percent_difference(
                'current_rows.' ~ moment, 'baseline_rows.' ~ moment
            ) }} as {{ moment }}_percent_difference,
        {%- endfor %}
        current_rows.quantile_values,
        baseline_rows.quantile_values as baseline_quantile_values,
        quantile_changes.quantile_differences,
        quantile_changes.quantile_percent_differences,
        current_rows.parameters_hash,
        current_rows.loaded_at,
        baseline_rows.loaded_at as baseline_loaded_at
    from statistics as current_rows
    inner join scenarios on current_rows.scenario_id = scenarios.scenario_id
    {%- if baseline_lookup == 'function' %}
    cross join lateral {{ statistics_relation.schema }}.series_statistics_of(
        '{{ statistics_relation.include(database=false) }}'::regclass,
        scenarios.baseline_scenario_id,
        current_rows.variable_key
    ) as baseline_rows
    {%- else %}
    {#- One branch per baseline named in dim_scenarios when this view is
        created, its id a literal: the planner keeps that baseline's table
        only, where a lookup by parameter costs one step per scenario of a
        build's UNION ALL views (tests read them) at every series. The last
        branch looks up any other baseline (none, unless dim_scenarios changed
        after the view was created); each branch is skipped whole, by a
        one-time filter, for a series of another baseline. #}
    {%- set baseline_ids = statistics_baseline_ids() %}
    cross join lateral (
        select * from (
            {%- for baseline_id in baseline_ids %}
            select * from statistics as baseline_series
            where
                scenarios.baseline_scenario_id = '{{ baseline_id | replace("'", "''") }}'
                and baseline_series.scenario_id = '{{ baseline_id | replace("'", "''") }}'
                and baseline_series.variable_key = current_rows.variable_key
            union all
            {%- endfor %}
            select * from statistics as baseline_series
            where
                not ({{ scenario_id_in('scenarios.baseline_scenario_id', baseline_ids) }})
                and baseline_series.scenario_id = scenarios.baseline_scenario_id
                and baseline_series.variable_key = current_rows.variable_key
        ) as baseline_lookups
        offset 0
    ) as baseline_rows
    {%- endif %}
    cross join
        lateral {{ statistics_array_comparison(
            'current_rows.quantile_values', 'baseline_rows.quantile_values'
        ) }} as quantile_changes
    where {{ statistics_key_match('current_rows', 'baseline_rows', extra_keys + ['period']) }}
)

select * from final
{% endmacro %}

{#- The baselines dim_scenarios names, for the literal branches of the
    comparison views' lookup; none before dim_scenarios is first built (a new
    database: `dbt compile`, the SQL linter), when the last branch serves. -#}
{% macro statistics_baseline_ids() -%}
    {%- set scenarios = load_relation(ref('dim_scenarios')) if execute else none -%}
    {%- if scenarios is none -%}
        {{ return([]) }}
    {%- endif -%}
    {{ return(scenario_ids_of(
        'select scenarios.baseline_scenario_id from ' ~ scenarios ~ ' as scenarios'
    )) }}
{%- endmacro %}
