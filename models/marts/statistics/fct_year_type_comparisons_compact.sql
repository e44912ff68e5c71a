{{ config(materialized='view') }}

{#- A view for the reasons given in fct_series_comparisons_compact. -#}
{{ statistics_comparisons_compact_model(
    ref('fct_year_type_statistics_compact'),
    ['year_type_source', 'year_type_code']
) }}
