with

coverage as (
    select * from {{ ref('fct_statistics_coverage') }}
),

final as (
    select
        coverage.scenario_id,
        coverage.family,
        coverage.entity_code,
        coverage.entity_type,
        coverage.is_computed,
        coverage.computed_metrics,
        coverage.input_variable_keys,
        coverage.missing_inputs,
        coverage.reason
    from coverage
)

select * from final
