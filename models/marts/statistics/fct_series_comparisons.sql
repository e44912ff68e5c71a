{{ config(materialized='view') }}

{{ statistics_comparisons_long_model(ref('fct_series_comparisons_compact')) }}
