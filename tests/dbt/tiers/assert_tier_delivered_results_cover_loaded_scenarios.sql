{{ config(severity="warn") }}

-- Every active, loaded scenario has a delivered row for every active
-- delivered indicator (a warning: the research teams' files may lag a new
-- scenario; until they arrive the indicator is missing for it).

with

scenarios as (
    select * from {{ ref('dim_scenarios') }}
),

indicators as (
    select * from {{ ref('tier_indicators') }}
),

delivered as (
    select * from {{ ref('tier_delivered_results') }}
),

final as (
    select
        scenarios.scenario_id,
        indicators.indicator_code
    from scenarios
    cross join indicators
    left join delivered
        on
            scenarios.scenario_id = delivered.scenario_id
            and indicators.indicator_code = delivered.indicator_code
    where
        scenarios.is_active
        and scenarios.is_loaded
        and indicators.is_active
        and indicators.result_source = 'delivered'
        and delivered.scenario_id is null
)

select * from final
