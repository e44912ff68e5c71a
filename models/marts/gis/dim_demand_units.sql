with

demand_units as (
    select * from {{ ref('demand_units') }}
),

demand_unit_types as (
    select * from {{ ref('demand_unit_types') }}
),

water_budget_areas as (
    select * from {{ ref('water_budget_areas') }}
),

layer as (
    select * from {{ ref('stg_gis__demand_units') }}
    where du_code is not null
),

-- every unit either source knows: the urban units of the entity seed and the
-- urban, agricultural and refuge units of the GIS layer
unit_codes as (
    select demand_units.du_code from demand_units
    union
    select layer.du_code from layer
),

classified as (
    select
        unit_codes.du_code,
        -- `26S_PU3` -> `PU`; codes without an `_`, like `MWD`, have no type
        coalesce(
            demand_units.cs3_type,
            nullif(regexp_replace(split_part(unit_codes.du_code, '_', 2), '[0-9]+$', ''), '')
        ) as du_type_code,
        -- the seed's area, else the code's prefix when it is a water budget area
        coalesce(demand_units.wba_code, prefix_areas.wba_code) as wba_code,
        demand_units.hydrologic_region as seed_hydrologic_region_code,
        demand_units.community_agency,
        demand_units.du_code is not null as is_in_entities_seed,
        coalesce(demand_units.has_gis_data, false) as is_expected_in_layer
    from unit_codes
    left join demand_units
        on unit_codes.du_code = demand_units.du_code
    left join water_budget_areas as prefix_areas
        on split_part(unit_codes.du_code, '_', 1) = prefix_areas.wba_code
),

final as (
    select
        classified.du_code,
        classified.du_type_code,
        classified.wba_code,
        coalesce(
            classified.seed_hydrologic_region_code, water_budget_areas.hydrologic_region
        ) as hydrologic_region_code,
        coalesce(demand_unit_types.du_class, demand_units.du_class) as du_class,
        demand_unit_types.supply_category,
        classified.community_agency,
        layer.source_file,
        st_area(layer.geom::geography) / 4046.8564224 as area_acres,
        classified.is_in_entities_seed,
        classified.is_expected_in_layer,
        layer.geom is not null as has_geometry,
        layer.loaded_at as geometry_loaded_at,
        layer.geom
    from classified
    left join demand_units
        on classified.du_code = demand_units.du_code
    left join demand_unit_types
        on classified.du_type_code = demand_unit_types.du_type_code
    left join water_budget_areas
        on classified.wba_code = water_budget_areas.wba_code
    left join layer
        on classified.du_code = layer.du_code
)

select * from final
