with

water_budget_areas as (
    select * from {{ ref('water_budget_areas') }}
),

layer as (
    select * from {{ ref('stg_gis__water_budget_areas') }}
),

final as (
    select
        water_budget_areas.wba_code,
        water_budget_areas.name,
        water_budget_areas.hydrologic_region as hydrologic_region_code,
        layer.source_file,
        -- square metres on the WGS84 spheroid to acres (1 acre = 4,046.8564224 m²)
        st_area(layer.geom::geography) / 4046.8564224 as area_acres,
        layer.geom is not null as has_geometry,
        layer.loaded_at as geometry_loaded_at,
        layer.geom
    from water_budget_areas
    left join layer
        on water_budget_areas.wba_code = layer.wba_code
)

select * from final
