-- fct_tier_results: where locations were rated, the four shares sum to 1 and
-- equal count / total, the counts sum to the total, the weighted score is
-- Σ level × share and the normalized score (4 − weighted) / 3; where none
-- was, shares and scores are NULL and unrated_count says how many were not;
-- a single-value indicator has one location, at its single level or unrated;
-- computed results count exactly the rows of fct_tier_location_results,
-- unrated ones included, and are never placeholders; every loaded scenario
-- has every active computed indicator. fct_tier_location_results: a row has a
-- level or a reason, never both, never neither.

with

results as (
    select * from {{ ref('fct_tier_results') }}
),

location_results as (
    select * from {{ ref('fct_tier_location_results') }}
),

scenarios as (
    select * from {{ ref('dim_scenarios') }}
),

indicators as (
    select * from {{ ref('tier_indicators') }}
),

inconsistent as (
    select
        results.scenario_id,
        results.indicator_code,
        'shares, counts or scores inconsistent' as problem
    from results
    where
        results.tier_1_count + results.tier_2_count
        + results.tier_3_count + results.tier_4_count <> results.total_count
        or results.total_count < 0
        or results.unrated_count < 0
        or (
            results.total_count > 0
            and not coalesce(
                abs(
                    results.tier_1_share + results.tier_2_share
                    + results.tier_3_share + results.tier_4_share - 1
                ) <= 1e-9
                and abs(results.tier_1_share * results.total_count - results.tier_1_count) <= 1e-9
                and abs(results.tier_4_share * results.total_count - results.tier_4_count) <= 1e-9
                and abs(
                    results.weighted_score
                    - (
                        1 * results.tier_1_share + 2 * results.tier_2_share
                        + 3 * results.tier_3_share + 4 * results.tier_4_share
                    )
                ) <= 1e-9
                and abs(results.normalized_score - (4 - results.weighted_score) / 3) <= 1e-9,
                false
            )
        )
        or (
            results.total_count = 0
            and (
                num_nonnulls(
                    results.tier_1_share, results.tier_2_share, results.tier_3_share,
                    results.tier_4_share, results.weighted_score, results.normalized_score,
                    results.single_tier_level
                ) > 0
                or coalesce(results.unrated_count, 0) = 0
            )
        )
        or (
            results.tier_type = 'single_value'
            and (
                results.total_count + coalesce(results.unrated_count, 0) <> 1
                or (
                    results.total_count = 1
                    and (
                        results.single_tier_level is null
                        or results.weighted_score <> results.single_tier_level
                    )
                )
            )
        )
        or (
            results.result_source = 'computed'
            and (
                results.source <> 'computed'
                or results.is_placeholder
                or results.unrated_count is null
            )
        )
),

location_counts as (
    select
        location_results.scenario_id,
        location_results.indicator_code,
        count(*) filter (where location_results.tier_level is not null) as rated_count,
        count(*) filter (where location_results.tier_level is null) as unrated_count
    from location_results
    group by location_results.scenario_id, location_results.indicator_code
),

miscounted as (
    select
        results.scenario_id,
        results.indicator_code,
        'counts differ from the location rows' as problem
    from results
    left join location_counts
        on
            results.scenario_id = location_counts.scenario_id
            and results.indicator_code = location_counts.indicator_code
    where
        results.result_source = 'computed'
        and (
            location_counts.scenario_id is null
            or results.total_count <> location_counts.rated_count
            or results.unrated_count <> location_counts.unrated_count
        )
),

unexplained as (
    select
        location_results.scenario_id,
        location_results.indicator_code,
        'location ' || location_results.location_code || case
            when location_results.tier_level is null then ' has neither a level nor a reason'
            else ' has both a level and a reason'
        end as problem
    from location_results
    where
        (location_results.tier_level is null) = (location_results.unrated_reason is null)
        or (
            location_results.result_source = 'computed'
            and (location_results.source <> 'computed' or location_results.is_placeholder)
        )
),

missing as (
    select
        scenarios.scenario_id,
        indicators.indicator_code,
        'computed indicator missing' as problem
    from scenarios
    cross join indicators
    left join results
        on
            scenarios.scenario_id = results.scenario_id
            and indicators.indicator_code = results.indicator_code
    where
        scenarios.is_loaded
        and indicators.is_active
        and indicators.result_source = 'computed'
        and results.scenario_id is null
),

final as (
    select * from inconsistent
    union all
    select * from miscounted
    union all
    select * from unexplained
    union all
    select * from missing
)

select * from final
