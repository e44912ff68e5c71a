{{
    config(
        pre_hook="{{ statistics_keep_comparable_scenarios(ref('dim_scenarios')) }}"
    )
}}

{#-
    Every general statistic of a scenario minus the same statistic of its
    baseline (dim_scenarios.baseline_scenario_id), absolute and in percent of
    the baseline's magnitude (NULL, never infinity, when the baseline is 0):
    one row per scenario, series and period present in both, aligned with
    fct_series_statistics_compact. Incremental by scenario: a scenario's rows
    are recomputed when the load behind its statistics or its baseline's
    changed (loaded_at / baseline_loaded_at, from fct_series_values), its
    baseline changed, or the statistics' parameters changed; so a new alternative computes only its own
    rows and a re-ingested baseline recomputes the rows of all its alternatives.
    Rows of a scenario that lost its baseline are dropped (the pre_hook lists those kept).
-#}
{{ statistics_comparisons_compact_model(
    ref('fct_series_statistics_compact'), 'series_parameters_hash'
) }}
