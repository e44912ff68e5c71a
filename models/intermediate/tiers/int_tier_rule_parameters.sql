{#-
    A model rather than a macro, so that "which thresholds rate this
    location" is one relation to query, read by the rule and by FW_EXP's
    weights alike.
-#}
with

locations as (
    select * from {{ ref('tier_locations') }}
),

rule_parameters as (
    select * from {{ ref('tier_rule_parameters') }}
),

rated as (
    select
        locations.indicator_code,
        locations.location_code,
        exists(
            select own.location_code
            from rule_parameters as own
            where
                own.indicator_code = locations.indicator_code
                and own.location_code = locations.location_code
        ) as has_own_rule
    from locations
    where locations.role = 'rated'
),

final as (
    select
        rated.indicator_code,
        rated.location_code,
        rule_parameters.tier_level,
        not rated.has_own_rule as is_default_rule,
        rule_parameters.threshold_comparison,
        rule_parameters.threshold_value,
        rule_parameters.threshold_unit,
        rule_parameters.min_share,
        rule_parameters.limit_comparison,
        rule_parameters.limit_value,
        rule_parameters.max_limit_share,
        rule_parameters.requires_baseline_or_better,
        rule_parameters.full_weight_below,
        rule_parameters.zero_weight_above
    from rated
    inner join rule_parameters
        on
            rated.indicator_code = rule_parameters.indicator_code
            and rule_parameters.location_code
            = case when rated.has_own_rule then rated.location_code else '*' end
)

select * from final
