-- fct_tier_results: the four shares sum to 1 and equal count / total; the
-- counts sum to the total; the weighted score is Σ level × share and the
-- normalized score (4 − weighted) / 3; a single-value indicator has one
-- location, at its single level; and every loaded scenario has every active
-- computed indicator.

with

results as (
    select * from {{ ref('fct_tier_results') }}
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
        abs(
            results.tier_1_share + results.tier_2_share
            + results.tier_3_share + results.tier_4_share - 1
        ) > 1e-9
        or results.tier_1_count + results.tier_2_count
        + results.tier_3_count + results.tier_4_count <> results.total_count
        or abs(results.tier_1_share * results.total_count - results.tier_1_count) > 1e-9
        or abs(results.tier_4_share * results.total_count - results.tier_4_count) > 1e-9
        or abs(
            results.weighted_score
            - (
                1 * results.tier_1_share + 2 * results.tier_2_share
                + 3 * results.tier_3_share + 4 * results.tier_4_share
            )
        ) > 1e-9
        or abs(results.normalized_score - (4 - results.weighted_score) / 3) > 1e-9
        or (
            results.tier_type = 'single_value'
            and (
                results.total_count <> 1
                or results.single_tier_level is null
                or results.weighted_score <> results.single_tier_level
            )
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
    select * from missing
)

select * from final
