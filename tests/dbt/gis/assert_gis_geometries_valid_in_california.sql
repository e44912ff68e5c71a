-- Map geometries that are invalid, not in WGS84 (SRID 4326) or outside California's
-- bounding box (longitude -124.5 to -114.0, latitude 32.5 to 42.0): a layer in a
-- wrongly declared CRS lands far away, and this catches it.

with

water_budget_areas as (
    select * from {{ ref('dim_water_budget_areas') }}
),

demand_units as (
    select * from {{ ref('dim_demand_units') }}
),

reservoir_locations as (
    select * from {{ ref('dim_reservoir_locations') }}
),

geometries as (
    select
        'dim_water_budget_areas' as model_name,
        water_budget_areas.wba_code as entity_code,
        water_budget_areas.geom::geometry as geom
    from water_budget_areas
    union all
    select
        'dim_demand_units' as model_name,
        demand_units.du_code as entity_code,
        demand_units.geom::geometry as geom
    from demand_units
    union all
    select
        'dim_reservoir_locations' as model_name,
        reservoir_locations.reservoir_code as entity_code,
        reservoir_locations.geom::geometry as geom
    from reservoir_locations
),

final as (
    select
        geometries.model_name,
        geometries.entity_code,
        st_isvalid(geometries.geom) as is_valid,
        st_srid(geometries.geom) as srid,
        st_astext(st_envelope(geometries.geom)) as envelope
    from geometries
    where
        geometries.geom is not null
        and (
            not st_isvalid(geometries.geom)
            or st_srid(geometries.geom) != 4326
            or not st_within(
                geometries.geom, st_makeenvelope(-124.5, 32.5, -114.0, 42.0, 4326)
            )
        )
)

select * from final
