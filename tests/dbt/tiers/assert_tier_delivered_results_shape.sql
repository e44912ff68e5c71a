-- A delivered result matches its indicator: delivered indicators only;
-- multi-value rows carry four non-negative counts with a positive total and
-- no single level; single-value rows carry a level and no counts. A row
-- copied from COEQWAL's published table is flagged as a placeholder.

with

delivered as (
    select * from {{ ref('tier_delivered_results') }}
),

indicators as (
    select * from {{ ref('tier_indicators') }}
),

final as (
    select
        delivered.scenario_id,
        delivered.indicator_code,
        indicators.tier_type,
        indicators.result_source
    from delivered
    left join indicators on delivered.indicator_code = indicators.indicator_code
    where
        indicators.indicator_code is null
        or (delivered.source = 'coeqwal_tier_result_csv' and not delivered.is_placeholder)
        or indicators.result_source <> 'delivered'
        or (
            indicators.tier_type = 'multi_value'
            and (
                delivered.single_tier_level is not null
                or coalesce(
                    least(
                        delivered.tier_1_count,
                        delivered.tier_2_count,
                        delivered.tier_3_count,
                        delivered.tier_4_count
                    ) < 0,
                    true
                )
                or delivered.tier_1_count is null
                or delivered.tier_2_count is null
                or delivered.tier_3_count is null
                or delivered.tier_4_count is null
                or delivered.tier_1_count + delivered.tier_2_count
                + delivered.tier_3_count + delivered.tier_4_count = 0
            )
        )
        or (
            indicators.tier_type = 'single_value'
            and (
                delivered.single_tier_level is null
                or num_nonnulls(
                    delivered.tier_1_count,
                    delivered.tier_2_count,
                    delivered.tier_3_count,
                    delivered.tier_4_count
                ) > 0
            )
        )
)

select * from final
