{#-
    Every location row, computed (the five int_tier_<indicator>_levels
    models, identical columns: a level, or none and the reason) and delivered
    (single-value results), with `result_source` saying which, the row's
    source (`computed` or the delivered row's) and whether it is a placeholder
    (computed rows never are).
-#}
with

res_stor as (
    select * from {{ ref('int_tier_res_stor_levels') }}
),

cws_del as (
    select * from {{ ref('int_tier_cws_del_levels') }}
),

fw_delta_uses as (
    select * from {{ ref('int_tier_fw_delta_uses_levels') }}
),

fw_exp as (
    select * from {{ ref('int_tier_fw_exp_levels') }}
),

gw_stor as (
    select * from {{ ref('int_tier_gw_stor_levels') }}
),

delivered as (
    select * from {{ ref('int_tier_delivered_levels') }}
),

computed as (
    select * from res_stor
    union all
    select * from cws_del
    union all
    select * from fw_delta_uses
    union all
    select * from fw_exp
    union all
    select * from gw_stor
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
