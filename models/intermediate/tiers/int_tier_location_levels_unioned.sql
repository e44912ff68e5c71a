{#-
    One relation for the mart whatever the source: a delivered single-value
    result becomes a location row like a computed one, so counts and scores
    are taken the same way.
-#}
with

computed as (
    select * from {{ ref('int_tier_rule_levels') }}
),

delivered as (
    select * from {{ ref('int_tier_delivered_levels') }}
),

final as (
    select
        computed.scenario_id,
        computed.indicator_code,
        computed.location_code,
        'computed' as result_source,
        'computed' as source,
        false as is_placeholder,
        computed.metric_code,
        computed.metric_unit,
        computed.tier_level,
        computed.value_count,
        computed.level_1_share,
        computed.level_2_share,
        computed.level_3_share,
        computed.level_1_limit_share,
        computed.level_2_limit_share,
        computed.level_3_limit_share,
        computed.metric_value,
        computed.baseline_metric_value,
        computed.unrated_reason
    from computed
    union all
    select
        delivered.scenario_id,
        delivered.indicator_code,
        delivered.location_code,
        'delivered' as result_source,
        delivered.source,
        delivered.is_placeholder,
        null::text as metric_code,
        null::text as metric_unit,
        delivered.tier_level,
        null::integer as value_count,
        null::double precision as level_1_share,
        null::double precision as level_2_share,
        null::double precision as level_3_share,
        null::double precision as level_1_limit_share,
        null::double precision as level_2_limit_share,
        null::double precision as level_3_limit_share,
        null::double precision as metric_value,
        null::double precision as baseline_metric_value,
        null::text as unrated_reason
    from delivered
)

select * from final
