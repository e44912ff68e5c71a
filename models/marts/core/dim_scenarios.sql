with

scenarios as (
    select * from {{ ref('scenarios') }}
),

series as (
    select * from {{ ref('stg_dss__series') }}
),

loaded as (
    select
        scenario_id,
        count(*) as series_count,
        sum(month_count) as value_count,
        max(loaded_at) as loaded_at
    from series
    group by scenario_id
),

final as (
    select
        scenarios.scenario_id,
        scenarios.short_code,
        scenarios.baseline_scenario_id,
        scenarios.hydroclimate_code,
        scenarios.name,
        scenarios.short_title,
        scenarios.description,
        coalesce(loaded.series_count, 0)::integer as series_count,
        coalesce(loaded.value_count, 0)::bigint as value_count,
        scenarios.is_active,
        loaded.scenario_id is not null as is_loaded,
        scenarios.baseline_scenario_id is null as is_baseline,
        loaded.loaded_at
    from scenarios
    left join loaded on scenarios.scenario_id = loaded.scenario_id
)

select * from final
