{#-
    fct_series_inventory agrees with the series it summarizes, for the
    scenarios a build computed (every scenario in an audit): one row per
    scenario with stored series, with their count, value count, first month,
    load and variable lists (variable key, B, C, unit in key order).
-#}
with

from_series as (
    select
        scenario_id,
        count(*)::integer as series_count,
        sum(month_count)::bigint as value_count,
        min(start_month) as first_month,
        max(loaded_at) as loaded_at,
        array_agg(variable_key order by variable_key) as variable_keys,
        array_agg(b_part order by variable_key) as b_parts,
        array_agg(c_part order by variable_key) as c_parts,
        array_agg(unit_code order by variable_key) as unit_codes
    from {{ ref('fct_series_values') }}
    where {{ scenario_store_scope() }}
    group by scenario_id
),

inventory as (
    select * from {{ ref('fct_series_inventory') }}
    where {{ scenario_store_scope() }}
)

select
    coalesce(from_series.scenario_id, inventory.scenario_id) as scenario_id,
    from_series.series_count,
    inventory.series_count as inventory_series_count,
    from_series.value_count,
    inventory.value_count as inventory_value_count
from from_series
full outer join inventory on from_series.scenario_id = inventory.scenario_id
where
    from_series.series_count is distinct from inventory.series_count
    or from_series.value_count is distinct from inventory.value_count
    or from_series.first_month is distinct from inventory.first_month
    or from_series.loaded_at is distinct from inventory.loaded_at
    or from_series.variable_keys is distinct from inventory.variable_keys
    or from_series.b_parts is distinct from inventory.b_parts
    or from_series.c_parts is distinct from inventory.c_parts
    or from_series.unit_codes is distinct from inventory.unit_codes
