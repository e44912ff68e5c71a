with

water_budget_areas as (
    select * from {{ ref('dim_water_budget_areas') }}
),

final as (
    select
        water_budget_areas.wba_code,
        water_budget_areas.name,
        water_budget_areas.hydrologic_region_code,
        water_budget_areas.area_acres,
        water_budget_areas.has_geometry,
        water_budget_areas.geom as geometry
    from water_budget_areas
)

select * from final
