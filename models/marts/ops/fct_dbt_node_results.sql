with

node_results as (
    select * from {{ source('ops', 'dbt_node_results') }}
),

final as (
    select
        node_results.invocation_id,
        node_results.unique_id,
        node_results.resource_type,
        split_part(node_results.unique_id, '.', 3) as node_name,
        node_results.status,
        node_results.message,
        node_results.relation_name,
        node_results.seconds,
        node_results.rows_affected,
        node_results.failures,
        node_results.status in ('error', 'fail') as is_failed,
        node_results.started_at at time zone 'UTC' as started_at,
        node_results.finished_at at time zone 'UTC' as finished_at
    from node_results
)

select * from final
