with

tier_results as (
    select * from {{ ref('fct_tier_results') }}
),

final as (
    select
        tier_results.scenario_id,
        tier_results.indicator_code,
        tier_results.indicator_name,
        tier_results.tier_type,
        tier_results.result_source,
        tier_results.source,
        tier_results.is_placeholder,
        tier_results.tier_1_count,
        tier_results.tier_2_count,
        tier_results.tier_3_count,
        tier_results.tier_4_count,
        tier_results.total_count,
        tier_results.unrated_count,
        tier_results.single_tier_level,
        tier_results.tier_1_share,
        tier_results.tier_2_share,
        tier_results.tier_3_share,
        tier_results.tier_4_share,
        tier_results.weighted_score,
        tier_results.normalized_score
    from tier_results
)

select * from final
