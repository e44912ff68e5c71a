{#-
    The bodies of the statistics marts that exist twice: once over every year
    (fct_series_*) and once per water-year type (fct_year_type_*). The two
    differ only by their relations and the extra key columns (`extra_keys`:
    [] or ['year_type_source', 'year_type_code']), so each body is written
    once here; documented in macros/_statistics__macros.yml.
-#}

{#- `left.k = right.k` for every key column, joined with `and`. -#}
{% macro statistics_key_join(left, right, keys) -%}
    {%- for key in keys %}
        {% if not loop.first %}and {% endif %}{{ left }}.{{ key }} = {{ right }}.{{ key }}
    {%- endfor %}
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

{#- The long shape of a compact comparisons mart, with both statistics' values. -#}
{% macro statistics_comparisons_long_model(comparisons_relation, statistics_relation, extra_keys=[]) %}
{%- set keys = ['variable_key'] + extra_keys + ['period'] %}
with

comparisons as (
    select * from {{ comparisons_relation }}
),

{# not materialized: both uses are index lookups on the filtered keys. #}
statistics as not materialized (
    select * from {{ statistics_relation }}
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
        case when unpivoted.statistic_code = 'cv' then 'NONE' else current_rows.value_unit end
            as value_unit,
        unpivoted.value,
        unpivoted.baseline_value,
        unpivoted.difference,
        unpivoted.percent_difference
    from comparisons
    inner join statistics as current_rows
        on
            comparisons.scenario_id = current_rows.scenario_id
            and {{ statistics_key_join('comparisons', 'current_rows', keys) }}
    inner join statistics as baseline_rows
        on
            comparisons.baseline_scenario_id = baseline_rows.scenario_id
            and {{ statistics_key_join('comparisons', 'baseline_rows', keys) }}
    cross join parameters
    cross join
        lateral {{ statistics_unpivot_comparison(
            'comparisons', 'current_rows', 'baseline_rows', 'parameters'
        ) }} as unpivoted
)

select * from final
{% endmacro %}

{#-
    Every statistic of a compact statistics mart minus the same statistic of
    the scenario's baseline, absolute and in percent (NULL when the baseline is
    0), one row per key present in both; incremental by scenario pair (see
    statistics_comparisons_to_build). `hash_column` names the column of
    int_statistics_parameter_hashes the statistics were built with.
-#}
{% macro statistics_comparisons_compact_model(statistics_relation, hash_column, extra_keys=[]) %}
{%- set keys = ['variable_key'] + extra_keys + ['period'] %}
{#- Incremental: the scenarios to compute and their baselines, read now from
    metadata and written as literals (only their tables are planned and read). #}
{%- if is_incremental() %}
    {%- set state_sql -%}
        (
            select
                series_loads.scenario_id,
                series_loads.loaded_at,
                hashes.{{ hash_column }} as parameters_hash
            from {{ scenario_store_loads('fct_series_values_compact') }} as series_loads
            cross join {{ ref('int_statistics_parameter_hashes') }} as hashes
        )
    {%- endset %}
    {%- set pairs_sql = '(' ~ statistics_comparison_pairs([state_sql], ref('dim_scenarios')) ~ ')' %}
    {%- set current_ids = scenario_ids_of(statistics_comparisons_to_build(pairs_sql)) %}
    {%- set baseline_ids = scenario_ids_of(
        'select listed.baseline_scenario_id from ' ~ pairs_sql ~ ' as listed where '
        ~ scenario_id_in('listed.scenario_id', current_ids)
    ) %}
{%- endif %}
with

{#- not materialized: the two uses below each read only their scenarios. #}
statistics as not materialized (
    select * from {{ statistics_relation }}
),

series as (
    select * from {{ ref('fct_series_values') }}
),

scenarios as (
    select * from {{ ref('dim_scenarios') }}
),

parameter_hashes as (
    select * from {{ ref('int_statistics_parameter_hashes') }}
),

{# What each scenario's statistics were built from (its latest load and the
   family's parameters): from the registry of fct_series_values_compact when
   the model is incremental (metadata, no fact row), else from the series. #}
statistics_state as (
    {% if is_incremental() %}
        select
            series_loads.scenario_id,
            series_loads.loaded_at,
            parameter_hashes.{{ hash_column }} as parameters_hash
        from {{ scenario_store_loads('fct_series_values_compact') }} as series_loads
        cross join parameter_hashes
    {% else %}
        select
            series.scenario_id,
            max(series.loaded_at) as loaded_at,
            min(parameter_hashes.{{ hash_column }}::text)::uuid as parameters_hash
        from series
        cross join parameter_hashes
        group by series.scenario_id
    {% endif %}
),

pairs as (
    {{ statistics_comparison_pairs(['statistics_state'], 'scenarios') }}
),

pairs_to_build as (
    {% if is_incremental() %}
        {{ statistics_comparisons_to_build('pairs') }}
    {% else %}
        select pairs.scenario_id from pairs
    {% endif %}
),

current_rows as (
    select statistics.*
    from statistics
    where
        {% if is_incremental() -%}
            {{ scenario_id_in('statistics.scenario_id', current_ids) }}
        {%- else -%}
            statistics.scenario_id = any(
                array(select pairs_to_build.scenario_id from pairs_to_build)
            )
        {%- endif %}
),

baseline_rows as (
    select statistics.*
    from statistics
    where
        {% if is_incremental() -%}
            {{ scenario_id_in('statistics.scenario_id', baseline_ids) }}
        {%- else -%}
            statistics.scenario_id = any(
                array(
                    select pairs.baseline_scenario_id
                    from pairs
                    inner join pairs_to_build on pairs.scenario_id = pairs_to_build.scenario_id
                )
            )
        {%- endif %}
),

final as (
    select
        current_rows.scenario_id,
        current_rows.variable_key,
        {%- for key in extra_keys %}
            current_rows.{{ key }},
        {%- endfor %}
        current_rows.period,
        pairs.baseline_scenario_id,
        current_rows.mean - baseline_rows.mean as mean_difference,
        {{ statistics_percent_difference('current_rows.mean', 'baseline_rows.mean') }}
            as mean_percent_difference,
        current_rows.sd - baseline_rows.sd as sd_difference,
        {{ statistics_percent_difference('current_rows.sd', 'baseline_rows.sd') }}
            as sd_percent_difference,
        current_rows.cv - baseline_rows.cv as cv_difference,
        {{ statistics_percent_difference('current_rows.cv', 'baseline_rows.cv') }}
            as cv_percent_difference,
        quantile_changes.quantile_differences,
        quantile_changes.quantile_percent_differences,
        current_rows.parameters_hash,
        pairs.loaded_at,
        pairs.baseline_loaded_at
    from current_rows
    inner join pairs on current_rows.scenario_id = pairs.scenario_id
    inner join baseline_rows
        on
            pairs.baseline_scenario_id = baseline_rows.scenario_id
            and {{ statistics_key_join('current_rows', 'baseline_rows', keys) }}
    cross join
        lateral {{ statistics_array_comparison(
            'current_rows.quantile_values', 'baseline_rows.quantile_values'
        ) }} as quantile_changes
)

select * from final
{% endmacro %}
