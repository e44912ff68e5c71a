{#-
    fct_statistics_coverage is consistent: a row has a reason exactly when it
    is not computed, metrics exactly when it is, and its missing inputs among
    its inputs; every entity a family's mart has rows for is a computed row.
-#}
with

coverage as (
    select * from {{ ref('fct_statistics_coverage') }}
),

reservoir_statistics as (
    select * from {{ ref('fct_reservoir_statistics') }}
),

delivery_statistics as (
    select * from {{ ref('fct_delivery_statistics') }}
),

delta_statistics as (
    select * from {{ ref('fct_delta_statistics') }}
),

mart_entities as (
    select distinct
        reservoir_statistics.scenario_id,
        'reservoir' as family,
        reservoir_statistics.reservoir_code as entity_code
    from reservoir_statistics
    union all
    select distinct
        delivery_statistics.scenario_id,
        'delivery' as family,
        delivery_statistics.delivery_code as entity_code
    from delivery_statistics
    union all
    select distinct
        delta_statistics.scenario_id,
        'delta' as family,
        delta_statistics.series_code as entity_code
    from delta_statistics
),

inconsistent_rows as (
    select
        coverage.scenario_id,
        coverage.family,
        coverage.entity_code,
        'inconsistent row' as problem
    from coverage
    where
        coverage.is_computed = (coverage.reason is not null)
        or coverage.is_computed = (cardinality(coverage.computed_metrics) = 0)
        or not coverage.missing_inputs <@ coverage.input_variable_keys
        or (
            not coverage.is_computed
            and coverage.reason like 'missing input%'
            and cardinality(coverage.missing_inputs) = 0
        )
),

uncovered_entities as (
    select
        mart_entities.scenario_id,
        mart_entities.family,
        mart_entities.entity_code,
        'mart entity not a computed coverage row' as problem
    from mart_entities
    left join coverage
        on
            mart_entities.scenario_id = coverage.scenario_id
            and mart_entities.family = coverage.family
            and mart_entities.entity_code = coverage.entity_code
    where coverage.is_computed is distinct from true
),

final as (
    select * from inconsistent_rows
    union all
    select * from uncovered_entities
)

select * from final
