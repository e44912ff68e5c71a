{{ config(materialized='view') }}

{#-
    The long, tidy shape of the statistics by year type: one row per scenario,
    series, year-type source, year type, period and statistic, unpivoted on read
    from fct_year_type_statistics_compact.
-#}
{{ statistics_long_model(
    ref('fct_year_type_statistics_compact'), ['year_type_source', 'year_type_code']
) }}
