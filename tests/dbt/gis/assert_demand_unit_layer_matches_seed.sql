-- Once a demand unit layer is loaded, it must agree with the entity seed: every
-- seed unit flagged `has_gis_data` has an outline, and every urban unit of the
-- layer is in the seed (the seed lists all urban units the statistics use).
-- Before any layer is loaded the test has nothing to check.

with

demand_units as (
    select * from {{ ref('dim_demand_units') }}
),

layer as (
    select * from {{ ref('stg_gis__demand_units') }}
),

final as (
    select
        demand_units.du_code,
        demand_units.du_class,
        demand_units.is_in_entities_seed,
        demand_units.is_expected_in_layer,
        demand_units.has_geometry
    from demand_units
    where
        exists (select layer.feature_index from layer)
        and (
            (demand_units.is_expected_in_layer and not demand_units.has_geometry)
            or (demand_units.du_class = 'urban' and not demand_units.is_in_entities_seed)
        )
)

select * from final
