-- Flow units, and only flow units, carry the CFS-to-TAF factor, and it is exactly
-- the double precision number 86400 / 43560 / 1000 (TAF per CFS-day), bit for bit.

with

units as (
    select * from {{ ref('units') }}
),

final as (
    select
        unit_code,
        quantity,
        is_flow,
        taf_per_cfs_day
    from units
    where
        is_flow != (quantity = 'flow')
        or is_flow != (taf_per_cfs_day is not null)
        or (unit_code = 'CFS' and not is_flow)
        or taf_per_cfs_day::double precision
        != 86400::double precision / 43560::double precision / 1000::double precision
)

select * from final
