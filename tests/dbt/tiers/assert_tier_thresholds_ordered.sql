-- Tier rule parameters are ordered from level 1 (strictest) to level 3: for
-- each indicator and location, levels 1, 2 and 3 all exist; a threshold met
-- from above (>=, >) does not rise from one level to the next and one met from
-- below (<, <=) does not fall; required shares do not rise; allowed limit
-- shares do not fall; a floor limit (<) does not rise and a ceiling (>) does
-- not fall; the comparison family and the FW_EXP weights stay the same; and
-- two consecutive levels are never identical.

with

parameters as (
    select * from {{ ref('tier_rule_parameters') }}
),

level_counts as (
    select
        parameters.indicator_code,
        parameters.location_code,
        'levels 1-3 not all present once' as problem
    from parameters
    group by parameters.indicator_code, parameters.location_code
    having
        count(*) <> 3
        or count(distinct parameters.tier_level) <> 3
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
        stricter.min_share as stricter_min_share,
        looser.min_share as looser_min_share,
        stricter.limit_comparison as stricter_limit_comparison,
        looser.limit_comparison as looser_limit_comparison,
        stricter.limit_value as stricter_limit,
        looser.limit_value as looser_limit,
        stricter.max_limit_share as stricter_max_limit_share,
        looser.max_limit_share as looser_max_limit_share,
        stricter.requires_baseline_or_better as stricter_requires_baseline,
        looser.requires_baseline_or_better as looser_requires_baseline,
        stricter.full_weight_below as stricter_full_weight,
        looser.full_weight_below as looser_full_weight,
        stricter.zero_weight_above as stricter_zero_weight,
        looser.zero_weight_above as looser_zero_weight
    from parameters as stricter
    inner join parameters as looser
        on
            stricter.indicator_code = looser.indicator_code
            and stricter.location_code = looser.location_code
            and stricter.tier_level + 1 = looser.tier_level
),

disordered as (
    select
        pairs.indicator_code,
        pairs.location_code,
        pairs.tier_level,
        case
            when left(pairs.stricter_comparison, 1) <> left(pairs.looser_comparison, 1)
                then 'comparison direction changes'
            when
                left(pairs.stricter_comparison, 1) = '>'
                and pairs.stricter_threshold < pairs.looser_threshold
                then 'threshold rises'
            when
                left(pairs.stricter_comparison, 1) = '<'
                and pairs.stricter_threshold > pairs.looser_threshold
                then 'threshold falls'
            when (pairs.stricter_min_share is null) <> (pairs.looser_min_share is null)
                then 'share rule and value rule mixed'
            when pairs.stricter_min_share < pairs.looser_min_share
                then 'required share rises'
            when (pairs.stricter_limit is null) <> (pairs.looser_limit is null)
                then 'limit present at one level only'
            when pairs.stricter_limit_comparison <> pairs.looser_limit_comparison
                then 'limit comparison changes'
            when
                left(pairs.stricter_limit_comparison, 1) = '<'
                and pairs.stricter_limit < pairs.looser_limit
                then 'floor rises'
            when
                left(pairs.stricter_limit_comparison, 1) = '>'
                and pairs.stricter_limit > pairs.looser_limit
                then 'ceiling falls'
            when pairs.stricter_max_limit_share > pairs.looser_max_limit_share
                then 'allowed limit share falls'
            when not pairs.stricter_requires_baseline and pairs.looser_requires_baseline
                then 'baseline required at the looser level only'
            when coalesce(pairs.stricter_full_weight, -1) <> coalesce(pairs.looser_full_weight, -1)
                then 'FW_EXP weights differ between levels'
            when coalesce(pairs.stricter_zero_weight, -1) <> coalesce(pairs.looser_zero_weight, -1)
                then 'FW_EXP weights differ between levels'
            when
                pairs.stricter_comparison = pairs.looser_comparison
                and pairs.stricter_threshold = pairs.looser_threshold
                and coalesce(pairs.stricter_min_share, -1)
                = coalesce(pairs.looser_min_share, -1)
                and coalesce(pairs.stricter_limit, -1) = coalesce(pairs.looser_limit, -1)
                and coalesce(pairs.stricter_max_limit_share, -1)
                = coalesce(pairs.looser_max_limit_share, -1)
                and pairs.stricter_requires_baseline = pairs.looser_requires_baseline
                then 'levels identical'
        end as problem
    from pairs
),

final as (
    select
        level_counts.indicator_code,
        level_counts.location_code,
        level_counts.problem
    from level_counts
    union all
    select
        disordered.indicator_code,
        disordered.location_code,
        concat(
            'level ', disordered.tier_level, ' vs ', disordered.tier_level + 1, ': ',
            disordered.problem
        ) as problem
    from disordered
    where disordered.problem is not null
)

select * from final
