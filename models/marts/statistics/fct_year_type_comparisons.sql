{{ config(materialized='view') }}

{#-
    The long, tidy shape of the by-year-type comparisons with the baseline: one
    row per scenario, series, year-type source, year type, period and statistic
    with the scenario's value, its baseline's value, the difference and the
    percent difference (NULL when the baseline is 0).
-#}
{{ statistics_comparisons_long_model(
    ref('fct_year_type_comparisons_compact'),
    ref('fct_year_type_statistics_compact'),
    ['year_type_source', 'year_type_code']
) }}
