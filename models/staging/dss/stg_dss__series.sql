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
        null::real[] as monthly_values_f4,
        null::double precision[] as monthly_values_f8,
        null::text as value_precision,
        null::text as source_file,
        null::text as source_sha256,
        null::timestamptz as ingested_at
    where false
)
{%- endset -%}
{%- set is_landed = execute and load_relation(raw_series) is not none -%}
{#- The values: typed arrays (`monthly_values_f4`, `monthly_values_f8`); a
    partition loaded before they were typed holds a text literal instead
    (`monthly_values`), read as the typed column would have read it. -#}
{%- set raw_columns = (adapter.get_columns_in_relation(raw_series) | map(attribute='name') | list)
    if is_landed else ['monthly_values_f4', 'monthly_values_f8'] -%}
{%- set f4_sources = [] -%}
{%- set f8_sources = [] -%}
{%- if 'monthly_values_f4' in raw_columns -%}
    {%- do f4_sources.append('monthly_values_f4') -%}
    {%- do f8_sources.append('monthly_values_f8') -%}
{%- endif -%}
{%- if 'monthly_values' in raw_columns -%}
    {%- do f4_sources.append('monthly_values::real[]') -%}
    {%- do f8_sources.append('monthly_values::double precision[]') -%}
{%- endif -%}
{%- set f4 = 'coalesce(' ~ (f4_sources | join(', ')) ~ ')' -%}
{%- set f8 = 'coalesce(' ~ (f8_sources | join(', ')) ~ ')' -%}

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
        {#- A float32 series is read as `real` and widened exactly; a float64
            series is read as double precision. #}
        case
            when value_precision = 'float32' then {{ f4 }}::double precision[]
            else {{ f8 }}
        end as monthly_values,
        case
            when value_precision = 'float32' then {{ f4 }}
        end as monthly_values_f4,
        case
            when value_precision = 'float32' then null
            else {{ f8 }}
        end as monthly_values_f8,
        start_month,
        ingested_at at time zone 'UTC' as loaded_at
    from source
)

select * from final
