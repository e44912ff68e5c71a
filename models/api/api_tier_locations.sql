with

location_results as (
    select * from {{ ref('fct_tier_location_results') }}
),

reservoir_locations as (
    select * from {{ ref('dim_reservoir_locations') }}
),

water_budget_areas as (
    select * from {{ ref('dim_water_budget_areas') }}
),

demand_units as (
    select * from {{ ref('dim_demand_units') }}
),

final as (
    select
        location_results.scenario_id,
        location_results.indicator_code,
        location_results.location_code,
        location_results.location_type,
        location_results.location_label,
        location_results.result_source,
        location_results.source,
        location_results.is_placeholder,
        location_results.metric_code,
        location_results.metric_unit,
        location_results.tier_level,
        location_results.unrated_reason,
        location_results.value_count,
        location_results.metric_value,
        location_results.baseline_metric_value,
        coalesce(
            reservoir_locations.geom::geometry,
            water_budget_areas.geom::geometry,
            demand_units.geom::geometry
        ) as geometry
    from location_results
    left join reservoir_locations
        on
            location_results.location_type = 'reservoir'
            and location_results.location_code = reservoir_locations.reservoir_code
    left join water_budget_areas
        on
            location_results.location_type = 'water_budget_area'
            and location_results.location_code = water_budget_areas.wba_code
    left join demand_units
        on
            location_results.location_type = 'demand_unit'
            and location_results.location_code = demand_units.du_code
)

select * from final
