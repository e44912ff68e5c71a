{#-
    Every raw series (after the DV-over-SV choice) of the scenarios this build
    computed is stored in fct_series_values_compact, and every stored series
    comes from one: same first month, months, missing values and exactly the
    same values (array equality on the doubles read from the raw text, no
    tolerance). Reads each series once, without unnesting its months. (`!=`:
    both sides are present and not NULL wherever it decides.)
-#}
with

raw_series as (
    select * from {{ ref('int_series_classified') }}
    where {{ scenario_store_scope() }}
),

stored as (
    select * from {{ ref('fct_series_values') }}
    where {{ scenario_store_scope() }}
),

compared as (
    select
        coalesce(raw_series.scenario_id, stored.scenario_id) as scenario_id,
        coalesce(raw_series.variable_key, stored.variable_key) as variable_key,
        stored.variable_key is null as is_not_stored,
        raw_series.variable_key is null as is_not_raw,
        raw_series.start_month != stored.start_month as start_differs,
        raw_series.month_count != stored.month_count as months_differ,
        raw_series.missing_count != stored.missing_count as missing_differ,
        raw_series.monthly_values != stored.monthly_values as values_differ
    from raw_series
    full outer join stored
        on
            raw_series.scenario_id = stored.scenario_id
            and raw_series.variable_key = stored.variable_key
),

final as (
    select
        compared.scenario_id,
        compared.variable_key,
        case
            when compared.is_not_stored then 'raw series not stored'
            when compared.is_not_raw then 'stored series not in raw'
            when compared.start_differs then 'start_month differs'
            when compared.months_differ then 'month_count differs'
            when compared.missing_differ then 'missing_count differs'
            else 'values differ'
        end as mismatch
    from compared
    where
        compared.is_not_stored
        or compared.is_not_raw
        or compared.start_differs
        or compared.months_differ
        or compared.missing_differ
        or compared.values_differ
)

select * from final
