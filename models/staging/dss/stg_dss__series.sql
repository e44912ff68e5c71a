with

source as (
    select * from {{ source('raw_dss', 'dss_series') }}
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
        monthly_values::double precision[] as monthly_values,
        start_month,
        ingested_at at time zone 'UTC' as loaded_at
    from source
)

select * from final
