-- Value rules (FW_EXP, GW_STOR; no min_share) split the metric's axis into
-- one range per level: level k takes the values meeting its threshold but not
-- level k-1's. The ranges must not overlap and none may be empty: from one
-- level to the next the threshold must move strictly in the looser direction,
-- unless it stays put and only the stricter level's comparison is strict
-- (level 1 "> 505" and level 2 ">= 505" leave 505 itself to level 2).
-- A level with the baseline condition is exempt from emptiness (its range is
-- narrowed by the baseline, not by its threshold).

with

parameters as (
    select * from {{ ref('tier_rule_parameters') }}
),

pairs as (
    select
        stricter.indicator_code,
        stricter.location_code,
        stricter.tier_level,
        stricter.threshold_comparison as stricter_comparison,
        looser.threshold_comparison as looser_comparison,
        stricter.threshold_value as stricter_threshold,
        looser.threshold_value as looser_threshold,
        stricter.requires_baseline_or_better
    from parameters as stricter
    inner join parameters as looser
        on
            stricter.indicator_code = looser.indicator_code
            and stricter.location_code = looser.location_code
            and stricter.tier_level + 1 = looser.tier_level
    where
        stricter.min_share is null
        and looser.min_share is null
),

final as (
    select
        pairs.indicator_code,
        pairs.location_code,
        pairs.tier_level,
        pairs.stricter_comparison || ' ' || pairs.stricter_threshold || ' then '
        || pairs.looser_comparison || ' ' || pairs.looser_threshold as ranges
    from pairs
    where
        not pairs.requires_baseline_or_better
        and not (
            (
                left(pairs.stricter_comparison, 1) = '>'
                and pairs.looser_threshold < pairs.stricter_threshold
            )
            or (
                left(pairs.stricter_comparison, 1) = '<'
                and pairs.looser_threshold > pairs.stricter_threshold
            )
            or (
                pairs.looser_threshold = pairs.stricter_threshold
                and (
                    (pairs.stricter_comparison = '>' and pairs.looser_comparison = '>=')
                    or (pairs.stricter_comparison = '<' and pairs.looser_comparison = '<=')
                )
            )
        )
)

select * from final
