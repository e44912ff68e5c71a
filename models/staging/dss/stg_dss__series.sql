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
        value_precision,
        {#- The literal of a float32 series is the shortest decimal of each float32:
            read through `real` so the doubles are exactly those floats widened
            (reading the decimal straight as a double would give a nearby double). #}
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
