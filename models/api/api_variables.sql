with

variables as (
    select * from {{ ref('dim_variables') }}
),

final as (
    select
        variables.variable_key,
        variables.b_part,
        variables.c_part,
        variables.label,
        variables.description,
        variables.unit_code,
        variables.kind,
        variables.entity_type,
        variables.entity_code,
        variables.outcome_category_code,
        variables.scenario_count,
        variables.is_aggregate,
        variables.is_flow,
        variables.is_described
    from variables
)

select * from final
