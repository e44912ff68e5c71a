with

themes as (
    select * from {{ ref('themes') }}
),

links as (
    select * from {{ ref('theme_scenarios') }}
),

scenarios as (
    select * from {{ ref('dim_scenarios') }}
),

counts as (
    select
        links.theme_code,
        count(*)::integer as scenario_count,
        coalesce(
            array_agg(links.scenario_id order by links.scenario_id) filter (
                where scenarios.is_active
            ),
            '{}'::text[]
        ) as active_scenario_ids
    from links
    left join scenarios on links.scenario_id = scenarios.scenario_id
    group by links.theme_code
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
        coalesce(counts.active_scenario_ids, '{}'::text[]) as active_scenario_ids,
        themes.is_active
    from themes
    left join counts on themes.theme_code = counts.theme_code
)

select * from final
