with

variables as (
    select * from {{ ref('variables') }}
),

inventory as (
    select * from {{ ref('fct_series_inventory') }}
),

units as (
    select * from {{ ref('units') }}
),

{# Scenarios of one model version share their variable list: each distinct
   list is unnested once and counts for every scenario that has it. #}
variable_sets as (
    select
        variable_set_hash,
        min(scenario_id) as scenario_id,
        count(*)::integer as scenario_count
    from inventory
    group by variable_set_hash
),

set_variables as (
    select
        set_series.variable_key,
        set_series.b_part,
        set_series.c_part,
        set_series.unit_code,
        variable_sets.scenario_count
    from variable_sets
    inner join inventory on variable_sets.scenario_id = inventory.scenario_id
    cross join lateral unnest(
        inventory.variable_keys, inventory.b_parts, inventory.c_parts, inventory.unit_codes
    ) as set_series (variable_key, b_part, c_part, unit_code)
),

seen as (
    select
        variable_key,
        min(b_part) as b_part,
        min(c_part) as c_part,
        min(unit_code) as unit_code,
        sum(scenario_count)::integer as scenario_count
    from set_variables
    group by variable_key
),

described as (
    select
        b_part || '/' || c_part as variable_key,
        b_part,
        c_part,
        label,
        description,
        unit_code,
        kind,
        entity_type,
        entity_code,
        outcome_category_code,
        is_aggregate
    from variables
),

final as (
    select
        coalesce(described.variable_key, seen.variable_key) as variable_key,
        coalesce(described.b_part, seen.b_part) as b_part,
        coalesce(described.c_part, seen.c_part) as c_part,
        coalesce(described.label, seen.b_part) as label,
        described.description,
        coalesce(described.unit_code, seen.unit_code) as unit_code,
        coalesce(described.kind, 'undescribed') as kind,
        described.entity_type,
        described.entity_code,
        described.outcome_category_code,
        coalesce(seen.scenario_count, 0) as scenario_count,
        coalesce(described.is_aggregate, false) as is_aggregate,
        coalesce(units.is_flow, false) as is_flow,
        described.variable_key is not null as is_described
    from described
    full outer join seen on described.variable_key = seen.variable_key
    left join units on coalesce(described.unit_code, seen.unit_code) = units.unit_code
)

select * from final
