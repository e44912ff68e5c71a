-- A scenario's baseline is a baseline itself (no chains) and not the scenario;
-- comparisons subtract the baseline's statistics, one level deep.

with

scenarios as (
    select * from {{ ref('scenarios') }}
),

final as (
    select
        scenarios.scenario_id,
        scenarios.baseline_scenario_id,
        baselines.baseline_scenario_id as baselines_own_baseline
    from scenarios
    inner join scenarios as baselines
        on scenarios.baseline_scenario_id = baselines.scenario_id
    where
        baselines.baseline_scenario_id is not null
        or scenarios.baseline_scenario_id = scenarios.scenario_id
)

select * from final
