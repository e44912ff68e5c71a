with

reservoirs as (
    select * from {{ ref('reservoirs') }}
),

final as (
    select
        reservoir_code,
        name,
        description,
        river,
        hydrologic_region as hydrologic_region_code,
        operational_purpose,
        storage_b_part || '/STORAGE' as storage_variable_key,
        flood_pool_level_b_part || '/STORAGE-LEVEL' as flood_pool_variable_key,
        dead_pool_level_b_part || '/STORAGE-LEVEL' as dead_pool_variable_key,
        capacity_taf,
        dead_pool_taf,
        surface_area_acres,
        latitude,
        longitude,
        is_tier_reservoir
    from reservoirs
)

select * from final
