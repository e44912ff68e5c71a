{#-
    One row per loaded scenario, tier indicator and rated location: the level
    1 (best) to 4 (worst), whether it was computed from model output or
    delivered by a research team (with the delivered row's source and whether
    it is a placeholder), and the numbers that decided it (shares of years or
    months meeting each level's threshold and violating its limit, the
    indicator's metric and, for GW_STOR, the baseline's). A computed location
    the rule could not rate (an input series missing, no CalSim3 series, no
    usable value) keeps its row with tier_level NULL and the reason in
    unrated_reason. Delivered multi-value indicators have no location rows
    (they arrive as counts).

    One table per scenario (scenario_store), incremental by scenario: a build
    recomputes the scenarios whose rows were computed from another state (the
    scenario's load, its baseline or the baseline's load, which GW_STOR
    compares with, or the tier seeds and delivery parameters, fingerprinted in
    parameters_hash), read from metadata; rows of scenarios no longer loaded
    are dropped (the pre_hook lists those kept).
-#}
{{
    config(
        materialized='scenario_store',
        pre_hook="{{ tier_keep_loaded_scenarios(ref('dim_scenarios')) }}"
    )
}}

with

levels as (
    select * from {{ ref('int_tier_location_levels_unioned') }}
),

locations as (
    select * from {{ ref('tier_locations') }}
),

{# What each loaded scenario's rows are computed from (metadata). #}
scenario_state as (
    {{ tier_scenario_state_sql() }}
),

final as (
    select
        levels.scenario_id,
        levels.indicator_code,
        levels.location_code,
        locations.location_type,
        locations.label as location_label,
        levels.result_source,
        levels.source,
        levels.is_placeholder,
        levels.metric_code,
        levels.metric_unit,
        levels.tier_level::integer as tier_level,
        levels.value_count::integer as value_count,
        levels.level_1_share::double precision as level_1_share,
        levels.level_2_share::double precision as level_2_share,
        levels.level_3_share::double precision as level_3_share,
        levels.level_1_limit_share::double precision as level_1_limit_share,
        levels.level_2_limit_share::double precision as level_2_limit_share,
        levels.level_3_limit_share::double precision as level_3_limit_share,
        levels.metric_value::double precision as metric_value,
        levels.baseline_metric_value::double precision as baseline_metric_value,
        levels.unrated_reason,
        scenario_state.baseline_scenario_id,
        scenario_state.loaded_at,
        scenario_state.baseline_loaded_at,
        scenario_state.parameters_hashes::uuid as parameters_hash
    from levels
    inner join locations
        on
            levels.indicator_code = locations.indicator_code
            and levels.location_code = locations.location_code
    inner join scenario_state on levels.scenario_id = scenario_state.scenario_id
    {% if is_incremental() %}
        {#- As literals: the filter reaches each indicator's scan of the
            per-scenario views, and nothing is planned when nothing changed. #}
        where {{ scenario_id_in('levels.scenario_id', scenario_ids_of(
            statistics_comparisons_to_build('(' ~ tier_scenario_state_sql() ~ ')')
        )) }}
    {% endif %}
)

select * from final
