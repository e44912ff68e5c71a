{#-
    One row per loaded scenario and tier indicator, the shape of COEQWAL's
    tier_result table: rated locations per level (counts and shares = count /
    total), the single level of a single-value indicator, the weighted score
    Σ level × share (1 best … 4 worst) and the normalized score
    (4 − weighted) / 3 (1 best … 0 worst), plus how many locations could not be
    rated (unrated_count; shares and scores are NULL when none was). Computed
    indicators and delivered single-value ones are counted from
    fct_tier_location_results (a single-value result is one location: its
    level has share 1); delivered multi-value indicators take the counts of
    tier_delivered_results. Every row carries its source and whether it is a
    placeholder.
-#}
with

location_results as (
    select * from {{ ref('fct_tier_location_results') }}
),

delivered as (
    select * from {{ ref('tier_delivered_results') }}
),

indicators as (
    select * from {{ ref('tier_indicators') }}
),

scenarios as (
    select * from {{ ref('dim_scenarios') }}
),

counted as (
    select
        location_results.scenario_id,
        location_results.indicator_code,
        min(location_results.result_source) as result_source,
        min(location_results.source) as source,
        bool_or(location_results.is_placeholder) as is_placeholder,
        count(*) filter (where location_results.tier_level = 1)::integer as tier_1_count,
        count(*) filter (where location_results.tier_level = 2)::integer as tier_2_count,
        count(*) filter (where location_results.tier_level = 3)::integer as tier_3_count,
        count(*) filter (where location_results.tier_level = 4)::integer as tier_4_count,
        count(*) filter (where location_results.tier_level is null)::integer as unrated_count
    from location_results
    group by location_results.scenario_id, location_results.indicator_code
),

delivered_counts as (
    select
        delivered.scenario_id,
        delivered.indicator_code,
        'delivered' as result_source,
        delivered.source,
        delivered.is_placeholder,
        delivered.tier_1_count,
        delivered.tier_2_count,
        delivered.tier_3_count,
        delivered.tier_4_count,
        {#- a team's file gives counts only: how many it left unrated is unknown #}
        null::integer as unrated_count
    from delivered
    inner join indicators on delivered.indicator_code = indicators.indicator_code
    inner join scenarios on delivered.scenario_id = scenarios.scenario_id
    where
        indicators.tier_type = 'multi_value'
        and indicators.result_source = 'delivered'
        and scenarios.is_loaded
),

all_counts as (
    select * from counted
    union all
    select * from delivered_counts
),

totals as (
    select
        all_counts.scenario_id,
        all_counts.indicator_code,
        all_counts.result_source,
        all_counts.source,
        all_counts.is_placeholder,
        all_counts.tier_1_count,
        all_counts.tier_2_count,
        all_counts.tier_3_count,
        all_counts.tier_4_count,
        all_counts.tier_1_count
        + all_counts.tier_2_count
        + all_counts.tier_3_count
        + all_counts.tier_4_count as total_count,
        all_counts.unrated_count
    from all_counts
),

shares as (
    select
        totals.scenario_id,
        totals.indicator_code,
        totals.result_source,
        totals.source,
        totals.is_placeholder,
        totals.tier_1_count,
        totals.tier_2_count,
        totals.tier_3_count,
        totals.tier_4_count,
        totals.total_count,
        totals.unrated_count,
        totals.tier_1_count::double precision / nullif(totals.total_count, 0) as tier_1_share,
        totals.tier_2_count::double precision / nullif(totals.total_count, 0) as tier_2_share,
        totals.tier_3_count::double precision / nullif(totals.total_count, 0) as tier_3_share,
        totals.tier_4_count::double precision / nullif(totals.total_count, 0) as tier_4_share,
        (
            1 * totals.tier_1_count
            + 2 * totals.tier_2_count
            + 3 * totals.tier_3_count
            + 4 * totals.tier_4_count
        )::double precision / nullif(totals.total_count, 0) as weighted_score
    from totals
),

final as (
    select
        shares.scenario_id,
        shares.indicator_code,
        indicators.name as indicator_name,
        indicators.tier_type,
        shares.result_source,
        shares.source,
        shares.is_placeholder,
        shares.tier_1_count,
        shares.tier_2_count,
        shares.tier_3_count,
        shares.tier_4_count,
        shares.total_count,
        shares.unrated_count,
        case
            when indicators.tier_type = 'single_value' and shares.total_count = 1
                then
                    case
                        when shares.tier_1_count = 1 then 1
                        when shares.tier_2_count = 1 then 2
                        when shares.tier_3_count = 1 then 3
                        else 4
                    end
        end as single_tier_level,
        shares.tier_1_share,
        shares.tier_2_share,
        shares.tier_3_share,
        shares.tier_4_share,
        shares.weighted_score,
        (4 - shares.weighted_score) / 3 as normalized_score
    from shares
    inner join indicators on shares.indicator_code = indicators.indicator_code
)

{# Written in scenario order: /tiers?scenario_id=eq.S then reads one
   scenario's rows from one or two pages, not from pages spread over the
   table (at 104 scenarios its ~9 rows came from 5 pages). #}
select * from final
order by scenario_id, indicator_code
