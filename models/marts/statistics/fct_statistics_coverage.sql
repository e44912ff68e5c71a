{{ config(materialized='table') }}

with

scenarios as (
    select * from {{ ref('dim_scenarios') }}
),

reservoirs as (
    select * from {{ ref('dim_reservoirs') }}
),

flood_releases as (
    select * from {{ ref('reservoir_flood_releases') }}
),

aggregates as (
    select * from {{ ref('delivery_aggregates') }}
),

unit_series as (
    select * from {{ ref('demand_unit_series') }}
),

delta_series as (
    select * from {{ ref('delta_series') }}
),

series as (
    select * from {{ ref('fct_series_values') }}
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

{# every input series of every entity: the requirement (input_group) it
    belongs to, the order of the groups and of the series within a group in
    the reason, and whether the entity needs it (is_required) #}
inputs as (
    select
        'reservoir' as family,
        reservoirs.reservoir_code as entity_code,
        'reservoir' as entity_type,
        'storage' as input_group,
        1 as group_order,
        1 as key_order,
        reservoirs.storage_variable_key as variable_key,
        true as is_required
    from reservoirs
    union all
    select
        'reservoir' as family,
        reservoirs.reservoir_code as entity_code,
        'reservoir' as entity_type,
        'flood_pool' as input_group,
        2 as group_order,
        1 as key_order,
        reservoirs.flood_pool_variable_key as variable_key,
        true as is_required
    from reservoirs
    where reservoirs.flood_pool_variable_key is not null
    union all
    select
        'reservoir' as family,
        reservoirs.reservoir_code as entity_code,
        'reservoir' as entity_type,
        'dead_pool' as input_group,
        3 as group_order,
        1 as key_order,
        reservoirs.dead_pool_variable_key as variable_key,
        false as is_required
    from reservoirs
    where reservoirs.dead_pool_variable_key is not null
    union all
    select
        'reservoir' as family,
        flood_releases.reservoir_code as entity_code,
        'reservoir' as entity_type,
        'spill' as input_group,
        4 as group_order,
        1 as key_order,
        flood_releases.b_part || '/' || flood_releases.c_part as variable_key,
        true as is_required
    from flood_releases
    union all
    select
        'delivery' as family,
        aggregates.aggregate_code as entity_code,
        'delivery_aggregate' as entity_type,
        'delivery' as input_group,
        1 as group_order,
        1 as key_order,
        aggregates.delivery_b_part || '/' || aggregates.delivery_c_part as variable_key,
        true as is_required
    from aggregates
    union all
    select
        'delivery' as family,
        aggregates.aggregate_code as entity_code,
        'delivery_aggregate' as entity_type,
        'shortage' as input_group,
        2 as group_order,
        1 as key_order,
        aggregates.shortage_b_part || '/' || aggregates.shortage_c_part as variable_key,
        true as is_required
    from aggregates
    union all
    select
        'delivery' as family,
        unit_series.du_code as entity_code,
        'demand_unit' as entity_type,
        case
            when unit_series.series_role = 'delivery'
                then unit_series.b_part || '/' || unit_series.c_part
            else 'demand'
        end as input_group,
        case when unit_series.series_role = 'delivery' then 1 else 2 end as group_order,
        case when unit_series.series_role = 'demand' then 1 else 2 end as key_order,
        unit_series.b_part || '/' || unit_series.c_part as variable_key,
        true as is_required
    from unit_series
    union all
    select
        'delta' as family,
        delta_series.series_code as entity_code,
        delta_series.role as entity_type,
        'series' as input_group,
        1 as group_order,
        1 as key_order,
        delta_series.b_part || '/' || delta_series.c_part as variable_key,
        true as is_required
    from delta_series
),

{# Lists and reasons are ordered by code point (the bytes of convert_to), as
    the C collation does, whatever the database's collation. #}
entity_inputs as (
    select distinct
        inputs.family,
        inputs.entity_code,
        inputs.entity_type,
        inputs.variable_key
    from inputs
),

entities as (
    select
        entity_inputs.family,
        entity_inputs.entity_code,
        min(entity_inputs.entity_type) as entity_type,
        array_agg(
            entity_inputs.variable_key order by convert_to(entity_inputs.variable_key, 'UTF8')
        ) as input_variable_keys
    from entity_inputs
    group by entity_inputs.family, entity_inputs.entity_code
),

loaded_scenarios as (
    select scenarios.scenario_id
    from scenarios
    where scenarios.is_loaded
),

{# the scenarios' series among the inputs: the series list only (the
    `= any(array(...))` filter keeps the scan on the table's key) #}
loaded_series as (
    select distinct
        series.scenario_id,
        series.variable_key
    from series
    where series.variable_key = any(array(select listed.variable_key from inputs as listed))
),

group_status as (
    select
        loaded_scenarios.scenario_id,
        inputs.family,
        inputs.entity_code,
        inputs.input_group,
        min(inputs.group_order) as group_order,
        (array_agg(inputs.variable_key order by convert_to(inputs.variable_key, 'UTF8')))[1]
            as group_sort_key,
        count(loaded_series.variable_key) > 0 as is_met,
        string_agg(
            inputs.variable_key, ' or '
            order by inputs.key_order, convert_to(inputs.variable_key, 'UTF8')
        ) as group_keys
    from loaded_scenarios
    cross join inputs
    left join loaded_series
        on
            loaded_scenarios.scenario_id = loaded_series.scenario_id
            and inputs.variable_key = loaded_series.variable_key
    where inputs.is_required
    group by
        loaded_scenarios.scenario_id,
        inputs.family,
        inputs.entity_code,
        inputs.input_group
),

missing_groups as (
    select
        group_status.scenario_id,
        group_status.family,
        group_status.entity_code,
        count(*)::integer as group_count,
        string_agg(
            group_status.group_keys, ', '
            order by group_status.group_order, convert_to(group_status.group_sort_key, 'UTF8')
        ) as group_list
    from group_status
    where not group_status.is_met
    group by group_status.scenario_id, group_status.family, group_status.entity_code
),

unmet_inputs as (
    select distinct
        group_status.scenario_id,
        group_status.family,
        group_status.entity_code,
        inputs.variable_key
    from group_status
    inner join inputs
        on
            group_status.family = inputs.family
            and group_status.entity_code = inputs.entity_code
            and group_status.input_group = inputs.input_group
    where not group_status.is_met
),

missing_keys as (
    select
        unmet_inputs.scenario_id,
        unmet_inputs.family,
        unmet_inputs.entity_code,
        array_agg(
            unmet_inputs.variable_key order by convert_to(unmet_inputs.variable_key, 'UTF8')
        ) as missing_inputs
    from unmet_inputs
    group by unmet_inputs.scenario_id, unmet_inputs.family, unmet_inputs.entity_code
),

computed_metrics as (
    select
        reservoir_statistics.scenario_id,
        'reservoir' as family,
        reservoir_statistics.reservoir_code as entity_code,
        reservoir_statistics.metric_code
    from reservoir_statistics
    group by
        reservoir_statistics.scenario_id,
        reservoir_statistics.reservoir_code,
        reservoir_statistics.metric_code
    union all
    select
        delivery_statistics.scenario_id,
        'delivery' as family,
        delivery_statistics.delivery_code as entity_code,
        delivery_statistics.metric_code
    from delivery_statistics
    group by
        delivery_statistics.scenario_id,
        delivery_statistics.delivery_code,
        delivery_statistics.metric_code
    union all
    select
        delta_statistics.scenario_id,
        'delta' as family,
        delta_statistics.series_code as entity_code,
        delta_statistics.metric_code
    from delta_statistics
    group by
        delta_statistics.scenario_id,
        delta_statistics.series_code,
        delta_statistics.metric_code
),

computed as (
    select
        computed_metrics.scenario_id,
        computed_metrics.family,
        computed_metrics.entity_code,
        array_agg(
            computed_metrics.metric_code
            order by convert_to(computed_metrics.metric_code, 'UTF8')
        ) as computed_metrics
    from computed_metrics
    group by computed_metrics.scenario_id, computed_metrics.family, computed_metrics.entity_code
),

final as (
    select
        loaded_scenarios.scenario_id,
        entities.family,
        entities.entity_code,
        entities.entity_type,
        computed.entity_code is not null as is_computed,
        coalesce(computed.computed_metrics, array[]::text[]) as computed_metrics,
        entities.input_variable_keys,
        coalesce(missing_keys.missing_inputs, array[]::text[]) as missing_inputs,
        case
            when computed.entity_code is not null then null
            when missing_groups.group_count = 1
                then 'missing input ' || missing_groups.group_list
            when missing_groups.group_count > 1
                then 'missing inputs ' || missing_groups.group_list
            when entities.family = 'delivery'
                then 'no complete water year with delivery and demand'
            else 'no value to compute from'
        end as reason
    from loaded_scenarios
    cross join entities
    left join computed
        on
            loaded_scenarios.scenario_id = computed.scenario_id
            and entities.family = computed.family
            and entities.entity_code = computed.entity_code
    left join missing_groups
        on
            loaded_scenarios.scenario_id = missing_groups.scenario_id
            and entities.family = missing_groups.family
            and entities.entity_code = missing_groups.entity_code
    left join missing_keys
        on
            loaded_scenarios.scenario_id = missing_keys.scenario_id
            and entities.family = missing_keys.family
            and entities.entity_code = missing_keys.entity_code
)

select * from final
