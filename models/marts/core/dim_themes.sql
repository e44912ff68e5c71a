with

themes as (
    select * from {{ ref('themes') }}
),

links as (
    select * from {{ ref('theme_scenarios') }}
),

counts as (
    select
        theme_code,
        count(*)::integer as scenario_count
    from links
    group by theme_code
),

final as (
    select
        themes.theme_code,
        themes.name,
        themes.short_title,
        themes.description,
        themes.summary,
        themes.display_order,
        coalesce(counts.scenario_count, 0) as scenario_count,
        themes.is_active
    from themes
    left join counts on themes.theme_code = counts.theme_code
)

select * from final
