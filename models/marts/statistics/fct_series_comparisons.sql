{{ config(materialized='view') }}

{#-
    The long, tidy shape of the comparisons with the baseline: one row per
    scenario, series, period and statistic with the scenario's value, its
    baseline's value, the difference and the percent difference (NULL when the
    baseline is 0), read from fct_series_comparisons_compact and the two
    statistics rows it compares.
-#}
{{ statistics_comparisons_long_model(
    ref('fct_series_comparisons_compact'), ref('fct_series_statistics_compact')
) }}
