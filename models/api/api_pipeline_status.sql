with

ingest_runs as (
    select * from {{ ref('fct_ingest_runs') }}
),

dbt_runs as (
    select * from {{ ref('fct_dbt_runs') }}
),

freshness_checks as (
    select * from {{ ref('fct_source_freshness') }}
),

ingests_ranked as (
    select
        ingest_runs.ingest_kind,
        ingest_runs.subject_id,
        ingest_runs.status,
        ingest_runs.error,
        ingest_runs.seconds,
        ingest_runs.is_succeeded,
        ingest_runs.finished_at,
        row_number() over (
            partition by ingest_runs.ingest_kind, ingest_runs.subject_id
            order by ingest_runs.finished_at desc, ingest_runs.run_id desc
        ) as recency,
        count(*) over (
            partition by ingest_runs.ingest_kind, ingest_runs.subject_id
        ) as run_count,
        max(ingest_runs.finished_at) filter (where ingest_runs.status = 'succeeded') over (
            partition by ingest_runs.ingest_kind, ingest_runs.subject_id
        ) as data_as_of
    from ingest_runs
    where ingest_runs.subject_id is not null
),

latest_ingests as (
    select
        'ingest_' || ingests_ranked.ingest_kind as component,
        ingests_ranked.subject_id,
        ingests_ranked.status,
        ingests_ranked.error as message,
        ingests_ranked.seconds,
        ingests_ranked.run_count::integer as run_count,
        ingests_ranked.is_succeeded as is_ok,
        ingests_ranked.finished_at as last_run_at,
        ingests_ranked.data_as_of
    from ingests_ranked
    where ingests_ranked.recency = 1
),

builds_ranked as (
    select
        dbt_runs.status,
        dbt_runs.error,
        dbt_runs.elapsed_seconds,
        dbt_runs.is_succeeded,
        dbt_runs.finished_at,
        row_number() over (
            order by dbt_runs.finished_at desc, dbt_runs.invocation_id desc
        ) as recency,
        count(*) over () as run_count,
        max(dbt_runs.finished_at) filter (where dbt_runs.is_succeeded) over () as data_as_of
    from dbt_runs
    where dbt_runs.command_name = 'build'
),

latest_build as (
    select
        'dbt_build' as component,
        'build' as subject_id,
        builds_ranked.status,
        builds_ranked.error as message,
        builds_ranked.elapsed_seconds as seconds,
        builds_ranked.run_count::integer as run_count,
        builds_ranked.is_succeeded as is_ok,
        builds_ranked.finished_at as last_run_at,
        builds_ranked.data_as_of
    from builds_ranked
    where builds_ranked.recency = 1
),

freshness_ranked as (
    select
        freshness_checks.source_name || '.' || freshness_checks.table_name as subject_id,
        freshness_checks.status,
        freshness_checks.error,
        freshness_checks.is_fresh,
        freshness_checks.snapshotted_at,
        freshness_checks.max_loaded_at,
        row_number() over (
            partition by freshness_checks.unique_id
            order by
                freshness_checks.snapshotted_at desc nulls last,
                freshness_checks.invocation_id desc
        ) as recency,
        count(*) over (partition by freshness_checks.unique_id) as run_count
    from freshness_checks
),

latest_freshness as (
    select
        'source_freshness' as component,
        freshness_ranked.subject_id,
        freshness_ranked.status,
        freshness_ranked.error as message,
        null::double precision as seconds,
        freshness_ranked.run_count::integer as run_count,
        freshness_ranked.is_fresh as is_ok,
        freshness_ranked.snapshotted_at as last_run_at,
        freshness_ranked.max_loaded_at as data_as_of
    from freshness_ranked
    where freshness_ranked.recency = 1
),

final as (
    select
        latest_ingests.component,
        latest_ingests.subject_id,
        latest_ingests.status,
        latest_ingests.message,
        latest_ingests.seconds,
        latest_ingests.run_count,
        latest_ingests.is_ok,
        latest_ingests.last_run_at,
        latest_ingests.data_as_of
    from latest_ingests
    union all
    select
        latest_build.component,
        latest_build.subject_id,
        latest_build.status,
        latest_build.message,
        latest_build.seconds,
        latest_build.run_count,
        latest_build.is_ok,
        latest_build.last_run_at,
        latest_build.data_as_of
    from latest_build
    union all
    select
        latest_freshness.component,
        latest_freshness.subject_id,
        latest_freshness.status,
        latest_freshness.message,
        latest_freshness.seconds,
        latest_freshness.run_count,
        latest_freshness.is_ok,
        latest_freshness.last_run_at,
        latest_freshness.data_as_of
    from latest_freshness
)

select * from final
