{#-
    Every compact series stores its values in exactly one array: `real[]` for a
    float32 series, `double precision[]` otherwise, with month_count entries.
-#}
with

compact as (
    select * from {{ ref('fct_series_values_compact') }}
    where {{ scenario_store_scope() }}
),

final as (
    select
        compact.scenario_id,
        compact.variable_key,
        compact.month_count
    from compact
    where
        (compact.monthly_values_f4 is null) = (compact.monthly_values_f8 is null)
        or coalesce(
            cardinality(compact.monthly_values_f4), cardinality(compact.monthly_values_f8)
        ) is distinct from compact.month_count
)

select * from final
