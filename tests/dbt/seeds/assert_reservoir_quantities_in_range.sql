-- Reservoirs whose physical quantities are impossible: capacity must be positive,
-- dead pool at least 0 and below capacity, surface area not negative, dam
-- coordinates inside California; tier reservoirs need coordinates and the
-- storage, flood-pool and dead-pool variables the RES_STOR statistics read.

with

reservoirs as (
    select * from {{ ref('reservoirs') }}
),

final as (
    select
        reservoir_code,
        capacity_taf,
        dead_pool_taf,
        surface_area_acres,
        latitude,
        longitude,
        is_tier_reservoir
    from reservoirs
    where
        capacity_taf <= 0
        or dead_pool_taf < 0
        or dead_pool_taf >= capacity_taf
        or surface_area_acres < 0
        or not latitude between 32.5 and 42.0
        or not longitude between -124.5 and -114.0
        or (latitude is null) != (longitude is null)
        or (
            is_tier_reservoir
            and (
                latitude is null
                or flood_pool_level_b_part is null
                or dead_pool_level_b_part is null
            )
        )
)

select * from final
