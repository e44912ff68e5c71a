with

runs as (
    select * from {{ source('ops', 'ingest_runs') }}
),

final as (
    select
        runs.run_id,
        runs.kind as ingest_kind,
        runs.scenario_id,
        runs.layer_name,
        coalesce(runs.scenario_id, runs.layer_name) as subject_id,
        runs.status,
        runs.error,
        runs.series_skipped as series_skipped_by_kind,
        jsonb_array_length(runs.files) as file_count,
        runs.series_read,
        runs.values_loaded,
        runs.null_values,
        runs.seconds,
        runs.status != 'failed' as is_succeeded,
        (runs.finished_at - make_interval(secs => runs.seconds)) at time zone 'UTC' as started_at,
        runs.finished_at at time zone 'UTC' as finished_at
    from runs
)

select * from final
