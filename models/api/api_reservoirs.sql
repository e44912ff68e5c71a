with

reservoirs as (
    select * from {{ ref('dim_reservoirs') }}
),

reservoir_locations as (
    select * from {{ ref('dim_reservoir_locations') }}
),

final as (
    select
        reservoirs.reservoir_code,
        reservoirs.name,
        reservoirs.description,
        reservoirs.river,
        reservoirs.hydrologic_region_code,
        reservoirs.operational_purpose,
        reservoirs.storage_variable_key,
        reservoirs.flood_pool_variable_key,
        reservoirs.dead_pool_variable_key,
        reservoirs.capacity_taf,
        reservoirs.dead_pool_taf,
        reservoirs.surface_area_acres,
        reservoirs.latitude,
        reservoirs.longitude,
        reservoirs.is_tier_reservoir,
        reservoir_locations.geom as geometry
    from reservoirs
    left join reservoir_locations
        on reservoirs.reservoir_code = reservoir_locations.reservoir_code
)

select * from final
