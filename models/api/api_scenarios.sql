with

scenarios as (
    select * from {{ ref('dim_scenarios') }}
),

final as (
    select
        scenario_id,
        short_code,
        baseline_scenario_id,
        hydroclimate_code,
        hydroclimate_name,
        primary_theme_code,
        theme_codes,
        name,
        short_title,
        description,
        series_count,
        value_count,
        is_active,
        is_loaded,
        is_baseline,
        first_month,
        loaded_at
    from scenarios
    where is_active
)

select * from final
