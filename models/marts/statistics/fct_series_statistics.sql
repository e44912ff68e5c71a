{{ config(materialized='view') }}

{{ statistics_long_model(ref('fct_series_statistics_compact')) }}
