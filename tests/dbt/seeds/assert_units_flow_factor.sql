-- Flow units, and only flow units, carry the CFS-to-TAF factor
-- 86400 / 43560 / 1000 = 0.0019834711 (TAF per CFS-day).

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
        or abs(taf_per_cfs_day - 86400.0 / 43560.0 / 1000.0) > 1e-10
)

select * from final
