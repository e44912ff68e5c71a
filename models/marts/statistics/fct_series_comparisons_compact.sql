{{ config(materialized='view') }}

{#-
    A view, not a table: a comparison is two index lookups (the scenario's
    statistics row and its baseline's), so computing it when read costs the API
    little, while storing it cost ~365 MiB and a recomputation per full-size
    alternative, and every re-ingested baseline recomputed all its alternatives.
-#}
{{ statistics_comparisons_compact_model(ref('fct_series_statistics_compact')) }}
