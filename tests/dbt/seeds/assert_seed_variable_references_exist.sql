-- Every (B, C) pair a lookup points at must be a row of `variables` with the
-- kind the lookup expects: reservoir storage and levels, demand-unit
-- deliveries, shortages and demands, project deliveries and shortages.
-- Returns the dangling references.

with

reservoirs as (
    select * from {{ ref('reservoirs') }}
),

demand_unit_series as (
    select * from {{ ref('demand_unit_series') }}
),

delivery_aggregates as (
    select * from {{ ref('delivery_aggregates') }}
),

variables as (
    select * from {{ ref('variables') }}
),

references_made as (
    select
        'reservoirs' as seed_name,
        reservoir_code as entity_code,
        storage_b_part as b_part,
        'STORAGE' as c_part,
        'storage' as expected_kind
    from reservoirs
    union all
    select
        'reservoirs' as seed_name,
        reservoir_code as entity_code,
        flood_pool_level_b_part as b_part,
        'STORAGE-LEVEL' as c_part,
        'storage_level' as expected_kind
    from reservoirs
    where flood_pool_level_b_part is not null
    union all
    select
        'reservoirs' as seed_name,
        reservoir_code as entity_code,
        dead_pool_level_b_part as b_part,
        'STORAGE-LEVEL' as c_part,
        'storage_level' as expected_kind
    from reservoirs
    where dead_pool_level_b_part is not null
    union all
    select
        'demand_unit_series' as seed_name,
        du_code as entity_code,
        b_part,
        c_part,
        series_role as expected_kind
    from demand_unit_series
    union all
    select
        'delivery_aggregates' as seed_name,
        aggregate_code as entity_code,
        delivery_b_part as b_part,
        delivery_c_part as c_part,
        'delivery' as expected_kind
    from delivery_aggregates
    union all
    select
        'delivery_aggregates' as seed_name,
        aggregate_code as entity_code,
        shortage_b_part as b_part,
        shortage_c_part as c_part,
        'shortage' as expected_kind
    from delivery_aggregates
),

final as (
    select
        references_made.seed_name,
        references_made.entity_code,
        references_made.b_part,
        references_made.c_part,
        references_made.expected_kind,
        variables.kind as actual_kind
    from references_made
    left join variables
        on
            references_made.b_part = variables.b_part
            and references_made.c_part = variables.c_part
    where variables.kind is distinct from references_made.expected_kind
)

select * from final
