{{ config(materialized='view') }}

{#-
    The long, tidy shape of the general statistics: one row per scenario,
    series, period and statistic, unpivoted on read from the compact rows of
    fct_series_statistics_compact (so the values are stored once). The
    statistic codes are those of the statistic_types seed.
-#}
{{ statistics_long_model(ref('fct_series_statistics_compact')) }}
