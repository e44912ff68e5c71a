-- Every scenario belongs to exactly one primary theme (COEQWAL's own link).

with

scenarios as (
    select * from {{ ref('scenarios') }}
),

theme_scenarios as (
    select * from {{ ref('theme_scenarios') }}
),

primary_links as (
    select
        scenario_id,
        count(*) as n_primary
    from theme_scenarios
    where is_primary
    group by scenario_id
),

final as (
    select
        scenarios.scenario_id,
        coalesce(primary_links.n_primary, 0) as n_primary
    from scenarios
    left join primary_links
        on scenarios.scenario_id = primary_links.scenario_id
    where coalesce(primary_links.n_primary, 0) != 1
)

select * from final
