with

checks as (
    select * from {{ source('ops', 'source_freshness') }}
),

final as (
    select
        checks.invocation_id,
        checks.unique_id,
        split_part(checks.unique_id, '.', 3) as source_name,
        split_part(checks.unique_id, '.', 4) as table_name,
        checks.status,
        checks.warn_after,
        checks.error_after,
        checks.error,
        checks.age_seconds,
        checks.status = 'pass' as is_fresh,
        checks.max_loaded_at at time zone 'UTC' as max_loaded_at,
        checks.snapshotted_at at time zone 'UTC' as snapshotted_at
    from checks
)

select * from final
