with

themes as (
    select * from {{ ref('dim_themes') }}
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
        themes.active_scenario_ids as scenario_ids
    from themes
    where themes.is_active
)

select * from final
