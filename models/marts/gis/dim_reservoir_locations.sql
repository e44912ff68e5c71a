with

reservoirs as (
    select * from {{ ref('dim_reservoirs') }}
),

final as (
    select
        reservoirs.reservoir_code,
        reservoirs.name,
        case
            when reservoirs.latitude is not null
                then 'seeds/entities/reservoirs.csv: public dam coordinates, about 0.01°'
        end as location_source,
        reservoirs.is_tier_reservoir,
        reservoirs.latitude is not null as has_location,
        st_setsrid(
            st_makepoint(
                reservoirs.longitude::double precision,
                reservoirs.latitude::double precision
            ),
            4326
        )::geometry (point, 4326) as geom
    from reservoirs
)

select * from final
