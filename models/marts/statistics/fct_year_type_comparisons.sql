{{ config(materialized='view') }}

{{ statistics_comparisons_long_model(
    ref('fct_year_type_comparisons_compact'),
    ['year_type_source', 'year_type_code']
) }}
