with

scenarios as (
    select * from {{ ref('scenarios') }}
),

hydroclimates as (
    select * from {{ ref('hydroclimates') }}
),

links as (
    select * from {{ ref('theme_scenarios') }}
),

inventory as (
    select * from {{ ref('fct_series_inventory') }}
),

themes as (
    select
        scenario_id,
        array_agg(theme_code order by is_primary desc, theme_code asc) as theme_codes,
        min(theme_code) filter (where is_primary) as primary_theme_code
    from links
    group by scenario_id
),

loaded as (
    select
        scenario_id,
        series_count,
        value_count,
        first_month,
        loaded_at
    from inventory
),

final as (
    select
        scenarios.scenario_id,
        scenarios.short_code,
        scenarios.baseline_scenario_id,
        scenarios.hydroclimate_code,
        hydroclimates.name as hydroclimate_name,
        themes.primary_theme_code,
        coalesce(themes.theme_codes, array[]::text[]) as theme_codes,
        scenarios.name,
        scenarios.short_title,
        scenarios.description,
        coalesce(loaded.series_count, 0) as series_count,
        coalesce(loaded.value_count, 0) as value_count,
        scenarios.is_active,
        loaded.scenario_id is not null as is_loaded,
        scenarios.baseline_scenario_id is null as is_baseline,
        loaded.first_month,
        loaded.loaded_at
    from scenarios
    left join hydroclimates on scenarios.hydroclimate_code = hydroclimates.hydroclimate_code
    left join themes on scenarios.scenario_id = themes.scenario_id
    left join loaded on scenarios.scenario_id = loaded.scenario_id
)

select * from final
