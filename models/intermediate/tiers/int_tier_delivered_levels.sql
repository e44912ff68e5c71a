{#-
    Delivered single-value results (tier_delivered_results.single_tier_level)
    as location rows: one per loaded scenario and indicator, at the indicator's
    rated system location of tier_locations, with the row's source and whether
    it is a placeholder. Delivered multi-value results
    arrive as counts per level, not per location, and go straight to
    fct_tier_results.
-#}
with

delivered as (
    select * from {{ ref('tier_delivered_results') }}
),

indicators as (
    select * from {{ ref('tier_indicators') }}
),

locations as (
    select * from {{ ref('tier_locations') }}
),

scenarios as (
    select * from {{ ref('dim_scenarios') }}
),

final as (
    select
        delivered.scenario_id,
        delivered.indicator_code,
        locations.location_code,
        delivered.single_tier_level as tier_level,
        delivered.source,
        delivered.is_placeholder
    from delivered
    inner join indicators on delivered.indicator_code = indicators.indicator_code
    inner join locations
        on
            delivered.indicator_code = locations.indicator_code
            and locations.role = 'rated'
    inner join scenarios on delivered.scenario_id = scenarios.scenario_id
    where
        indicators.tier_type = 'single_value'
        and indicators.result_source = 'delivered'
        and scenarios.is_loaded
)

select * from final
