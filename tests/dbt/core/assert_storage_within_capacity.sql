{#-
    Physical range: reservoir storage is never negative and never above capacity
    by more than the tolerance (var `storage_capacity_tolerance`, default 5 %:
    CalSim lets storage encroach slightly above nominal capacity in floods).
-#}
with

reservoirs as (
    select * from {{ ref('dim_reservoirs') }}
),

{# `= any(array(...))`: only the storage series are unnested (the filter
    reaches the compact table's key). #}
monthly as (
    select * from {{ ref('fct_monthly_values') }}
    where
        {{ scenario_store_scope() }}
        and variable_key = any(array(select listed.storage_variable_key from reservoirs as listed))
),

final as (
    select
        monthly.scenario_id,
        monthly.variable_key,
        monthly.month_date,
        monthly.value,
        reservoirs.capacity_taf
    from monthly
    inner join reservoirs on monthly.variable_key = reservoirs.storage_variable_key
    where
        monthly.value < 0
        or monthly.value > reservoirs.capacity_taf * {{ var('storage_capacity_tolerance', 1.05) }}
)

select * from final
