{{
    config(
        pre_hook="{{ statistics_keep_comparable_scenarios(ref('dim_scenarios')) }}"
    )
}}

with

reservoir_statistics as (
    select * from {{ ref('fct_reservoir_statistics') }}
),

delivery_statistics as (
    select * from {{ ref('fct_delivery_statistics') }}
),

delta_statistics as (
    select * from {{ ref('fct_delta_statistics') }}
),

scenarios as (
    select * from {{ ref('dim_scenarios') }}
),

outcomes as (
    select
        reservoir_statistics.scenario_id,
        'reservoir' as family,
        reservoir_statistics.reservoir_code as subject_code,
        reservoir_statistics.metric_code,
        reservoir_statistics.period,
        reservoir_statistics.statistic_code,
        reservoir_statistics.value_unit,
        reservoir_statistics.value,
        reservoir_statistics.parameters_hash,
        reservoir_statistics.loaded_at
    from reservoir_statistics
    union all
    select
        delivery_statistics.scenario_id,
        'delivery' as family,
        delivery_statistics.delivery_code as subject_code,
        delivery_statistics.metric_code,
        delivery_statistics.period,
        delivery_statistics.statistic_code,
        delivery_statistics.value_unit,
        delivery_statistics.value,
        delivery_statistics.parameters_hash,
        delivery_statistics.loaded_at
    from delivery_statistics
    union all
    select
        delta_statistics.scenario_id,
        'delta' as family,
        delta_statistics.series_code as subject_code,
        delta_statistics.metric_code,
        delta_statistics.period,
        delta_statistics.statistic_code,
        delta_statistics.value_unit,
        delta_statistics.value,
        delta_statistics.parameters_hash,
        delta_statistics.loaded_at
    from delta_statistics
),

{# What each scenario's outcome statistics were built from: from the
   registry of the three statistics models when incremental (metadata, no
   statistics row), else from the rows. #}
outcome_state as (
    {% if is_incremental() %}
        select
            statistics_loads.scenario_id,
            statistics_loads.loaded_at,
            parameter_hashes.parameters_hash::uuid as parameters_hash
        from (
            select * from {{ scenario_store_loads('fct_reservoir_statistics') }} as reservoir_loads
            union all
            select * from {{ scenario_store_loads('fct_delivery_statistics') }} as delivery_loads
            union all
            select * from {{ scenario_store_loads('fct_delta_statistics') }} as delta_loads
        ) as statistics_loads
        cross join
            lateral unnest(
                string_to_array(statistics_loads.parameters_hashes, ',')
            ) as parameter_hashes (parameters_hash)
    {% else %}
        select
            outcomes.scenario_id,
            outcomes.loaded_at,
            outcomes.parameters_hash
        from outcomes
    {% endif %}
),

pairs as (
    {{ statistics_comparison_pairs(['outcome_state'], 'scenarios') }}
),

pairs_to_build as (
    {% if is_incremental() %}
        {{ statistics_comparisons_to_build('pairs') }}
    {% else %}
        select pairs.scenario_id from pairs
    {% endif %}
),

final as (
    select
        current_rows.scenario_id,
        current_rows.family,
        current_rows.subject_code,
        current_rows.metric_code,
        current_rows.period,
        current_rows.statistic_code,
        pairs.baseline_scenario_id,
        current_rows.value_unit,
        current_rows.value,
        baseline_rows.value as baseline_value,
        current_rows.value - baseline_rows.value as difference,
        {{ statistics_percent_difference('current_rows.value', 'baseline_rows.value') }}
            as percent_difference,
        current_rows.parameters_hash,
        pairs.loaded_at,
        pairs.baseline_loaded_at
    from outcomes as current_rows
    inner join pairs on current_rows.scenario_id = pairs.scenario_id
    inner join outcomes as baseline_rows
        on
            pairs.baseline_scenario_id = baseline_rows.scenario_id
            and current_rows.family = baseline_rows.family
            and current_rows.subject_code = baseline_rows.subject_code
            and current_rows.metric_code = baseline_rows.metric_code
            and current_rows.period = baseline_rows.period
            and current_rows.statistic_code = baseline_rows.statistic_code
    where current_rows.scenario_id in (select pairs_to_build.scenario_id from pairs_to_build)
)

select * from final
