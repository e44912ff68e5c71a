{#- Before the first ingest raw_dss.dss_series does not exist: the model then
    reads an empty relation of the same columns, so a new database builds. -#}
{%- set raw_series = source('raw_dss', 'dss_series') -%}
{%- set empty_series -%}
(
    select
        null::text as scenario_id,
        null::text as file_role,
        null::text as series_path,
        null::text as a_part,
        null::text as b_part,
        null::text as c_part,
        null::text as e_part,
        null::text as f_part,
        null::text as units,
        null::text as data_type,
        null::date as start_month,
        null::integer as month_count,
        null::integer as missing_count,
        null::text as monthly_values,
        null::text as value_precision,
        null::text as source_file,
        null::text as source_sha256,
        null::timestamptz as ingested_at
    where false
)
{%- endset -%}
{%- set is_landed = execute and load_relation(raw_series) is not none -%}

with

source as (
    select raw_series.* from {{ raw_series if is_landed else empty_series }} as raw_series
),

final as (
    select
        scenario_id,
        file_role,
        upper(b_part) || '/' || upper(c_part) as series_key,
        upper(b_part) as variable_code,
        upper(c_part) as kind_code,
        upper(a_part) as a_part,
        upper(e_part) as interval_code,
        upper(f_part) as study_tag,
        series_path as original_path,
        upper(units) as units,
        upper(data_type) as data_type,
        month_count,
        missing_count,
        value_precision,
        {#- The literal is written at the series' precision. A float32 series holds
            the shortest decimal of each float32: read through `real` so the doubles
            are exactly those floats widened (reading the decimal straight as a
            double would give a nearby double). A float64 series holds the shortest
            decimal that reads back to each double, every value of it: read as
            double precision. #}
        case
            when value_precision = 'float32'
                then monthly_values::real[]::double precision[]
            else monthly_values::double precision[]
        end as monthly_values,
        case
            when value_precision = 'float32' then monthly_values::real[]
        end as monthly_values_f4,
        case
            when value_precision = 'float32' then null
            else monthly_values::double precision[]
        end as monthly_values_f8,
        start_month,
        ingested_at at time zone 'UTC' as loaded_at
    from source
)

select * from final
