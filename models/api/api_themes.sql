with

themes as (
    select * from {{ ref('dim_themes') }}
),

theme_scenarios as (
    select * from {{ ref('dim_theme_scenarios') }}
),

scenarios as (
    select * from {{ ref('dim_scenarios') }}
),

active_theme_scenarios as (
    select
        theme_scenarios.theme_code,
        array_agg(theme_scenarios.scenario_id order by theme_scenarios.scenario_id) as scenario_ids
    from theme_scenarios
    inner join scenarios
        on theme_scenarios.scenario_id = scenarios.scenario_id
    where scenarios.is_active
    group by theme_scenarios.theme_code
),

final as (
    select
        themes.theme_code,
        themes.name,
        themes.short_title,
        themes.description,
        themes.summary,
        themes.display_order,
        themes.scenario_count,
        coalesce(active_theme_scenarios.scenario_ids, '{}'::text[]) as scenario_ids
    from themes
    left join active_theme_scenarios
        on themes.theme_code = active_theme_scenarios.theme_code
    where themes.is_active
)

select * from final
