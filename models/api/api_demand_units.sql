with

demand_units as (
    select * from {{ ref('dim_demand_units') }}
),

final as (
    select
        demand_units.du_code,
        demand_units.du_type_code,
        demand_units.wba_code,
        demand_units.hydrologic_region_code,
        demand_units.du_class,
        demand_units.supply_category,
        demand_units.community_agency,
        demand_units.area_acres,
        demand_units.has_geometry,
        demand_units.geom as geometry
    from demand_units
)

select * from final
