{{ config(materialized='view') }}

{{ statistics_long_model(
    ref('fct_year_type_statistics_compact'), ['year_type_source', 'year_type_code']
) }}
