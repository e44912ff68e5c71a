-- A variable's units must fit its kind: volumes in TAF, rates in CFS, salinity in
-- UMHOS/CM, X2 in KM, year types in NONE. A wrong pairing would make the
-- CFS-to-TAF conversion sum a storage or skip a flow.

with

variables as (
    select * from {{ ref('variables') }}
),

expected as (
    select
        b_part,
        c_part,
        kind,
        unit_code,
        case
            when kind in ('storage', 'storage_level', 'groundwater_storage') then 'TAF'
            when
                kind in ('flow', 'delivery', 'shortage', 'demand', 'export', 'outflow')
                then 'CFS'
            when kind = 'salinity' then 'UMHOS/CM'
            when kind = 'x2' then 'KM'
            when kind = 'year_type' then 'NONE'
        end as expected_unit_code
    from variables
),

final as (
    select *
    from expected
    where unit_code is distinct from expected_unit_code
)

select * from final
