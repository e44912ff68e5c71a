with

runs as (
    select * from {{ source('ops', 'dbt_runs') }}
),

final as (
    select
        runs.invocation_id,
        runs.command,
        case
            when runs.command like 'source freshness%' then 'source freshness'
            else split_part(runs.command, ' ', 1)
        end as command_name,
        runs.status,
        runs.error,
        runs.dbt_version,
        runs.exit_code,
        runs.node_count,
        runs.success_count,
        runs.warn_count,
        runs.error_count,
        runs.fail_count,
        runs.skipped_count,
        runs.elapsed_seconds,
        runs.status != 'failed' as is_succeeded,
        runs.command in ('build', 'source freshness') as is_whole_project,
        runs.started_at at time zone 'UTC' as started_at,
        runs.finished_at at time zone 'UTC' as finished_at
    from runs
)

select * from final
