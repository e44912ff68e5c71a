{#-
    The comparisons hold exactly the loaded scenarios that have a loaded
    baseline (dim_scenarios), each compared with its current baseline, one row
    per statistics row the two scenarios share.
-#}
with

scenarios as (
    select * from {{ ref('dim_scenarios') }}
),

statistics as (
    select * from {{ ref('fct_series_statistics_compact') }}
    where {{ scenario_store_scope() }}
),

{#- The baselines of the scenarios in scope, whether this build computed them
    or not, written as literals: the planner then reads their tables only
    (none when nothing is in scope, e.g. compiled before the first build). #}
{%- set scope = scenario_store_scope('scope.scenario_id') | trim -%}
{%- set baselines_in_scope -%}
    select scope.baseline_scenario_id
    from {{ ref('dim_scenarios') }} as scope
    where {{ scope }}
{%- endset %}
{%- set baseline_ids = [] if scope == 'false' else scenario_ids_of(baselines_in_scope) %}

baseline_statistics as (
    select * from {{ ref('fct_series_statistics_compact') }}
    where {{ scenario_id_in('scenario_id', baseline_ids) }}
),

comparisons as (
    -- one scan per scenario (scenario_scoped): a list of ids would reach the
    -- view's first scan only, and the view would compare every alternative
    select * from {{ scenario_scoped(ref('fct_series_comparisons_compact')) }} as comparisons
),

expected as (
    select
        current_rows.scenario_id,
        scenarios.baseline_scenario_id,
        count(*) as row_count
    from statistics as current_rows
    inner join scenarios on current_rows.scenario_id = scenarios.scenario_id
    inner join baseline_statistics as baseline_rows
        on
            scenarios.baseline_scenario_id = baseline_rows.scenario_id
            and current_rows.variable_key = baseline_rows.variable_key
            and current_rows.period = baseline_rows.period
    group by current_rows.scenario_id, scenarios.baseline_scenario_id
),

actual as (
    select
        comparisons.scenario_id,
        comparisons.baseline_scenario_id,
        count(*) as row_count
    from comparisons
    group by comparisons.scenario_id, comparisons.baseline_scenario_id
),

final as (
    select
        coalesce(expected.scenario_id, actual.scenario_id) as scenario_id,
        expected.baseline_scenario_id as expected_baseline,
        actual.baseline_scenario_id as actual_baseline,
        expected.row_count as expected_rows,
        actual.row_count as actual_rows
    from expected
    full outer join actual
        on
            expected.scenario_id = actual.scenario_id
            and expected.baseline_scenario_id = actual.baseline_scenario_id
    where expected.row_count is distinct from actual.row_count
)

select * from final
