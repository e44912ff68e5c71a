{{ config(materialized='view') }}

{#-
    A view, not a table: a comparison is two index lookups (the scenario's
    statistics row and its baseline's), cheap for the API to compute when read;
    stored, it would cost ~365 MiB and a recomputation per full-size
    alternative, and every re-ingested baseline would recompute all of them.
-#}
{{ statistics_comparisons_compact_model(ref('fct_series_statistics_compact')) }}
