{#-
    The tier rule in one place for every computed indicator, so that what
    decides a level is read here rather than rebuilt from macros in each
    indicator model (those only tag periods and metrics). Shares are exact
    numerics, so "exactly 90 % of the years" meets a 0.9 share. Every CTE
    below is read once: PostgreSQL then inlines them and the mart's scenario
    filter reaches each indicator's scans.
-#}
with

res_stor as (
    select * from {{ ref('int_tier_res_stor_periods') }}
),

cws_del as (
    select * from {{ ref('int_tier_cws_del_periods') }}
),

fw_delta_uses as (
    select * from {{ ref('int_tier_fw_delta_uses_periods') }}
),

fw_exp as (
    select * from {{ ref('int_tier_fw_exp_metrics') }}
),

gw_stor as (
    select * from {{ ref('int_tier_gw_stor_metrics') }}
),

rule_parameters as (
    select * from {{ ref('int_tier_rule_parameters') }}
),

periods as (
    select * from res_stor
    union all
    select * from cws_del
    union all
    select * from fw_delta_uses
),

metrics as (
    select * from fw_exp
    union all
    select * from gw_stor
),

{# Share rules, per location and level: of the periods with a value, the
    share meeting the threshold and the share violating the limit. #}
period_shares as (
    select
        periods.scenario_id,
        periods.indicator_code,
        periods.location_code,
        periods.metric_code,
        periods.metric_unit,
        periods.reason_if_unrated,
        rule_parameters.tier_level,
        rule_parameters.min_share,
        rule_parameters.limit_value,
        rule_parameters.max_limit_share,
        count(periods.value)::integer as value_count,
        count(*) filter (
            where case rule_parameters.threshold_comparison
                when '>=' then periods.value >= rule_parameters.threshold_value
                when '>' then periods.value > rule_parameters.threshold_value
                when '<' then periods.value < rule_parameters.threshold_value
                when '<=' then periods.value <= rule_parameters.threshold_value
            end
        )::numeric / nullif(count(periods.value), 0) as met_share,
        case
            when rule_parameters.limit_value is not null
                then count(*) filter (
                    where case rule_parameters.limit_comparison
                        when '>=' then periods.value >= rule_parameters.limit_value
                        when '>' then periods.value > rule_parameters.limit_value
                        when '<' then periods.value < rule_parameters.limit_value
                        when '<=' then periods.value <= rule_parameters.limit_value
                    end
                )::numeric / nullif(count(periods.value), 0)
        end as limit_share,
        {#- the worst period: the lowest where the threshold is met from
            above, the highest where it is met from below #}
        case
            when left(rule_parameters.threshold_comparison, 1) = '>' then min(periods.value)
            else max(periods.value)
        end as worst_value
    from periods
    left join rule_parameters
        on
            periods.indicator_code = rule_parameters.indicator_code
            and periods.location_code = rule_parameters.location_code
    group by
        periods.scenario_id,
        periods.indicator_code,
        periods.location_code,
        periods.metric_code,
        periods.metric_unit,
        periods.reason_if_unrated,
        rule_parameters.tier_level,
        rule_parameters.threshold_comparison,
        rule_parameters.min_share,
        rule_parameters.limit_value,
        rule_parameters.max_limit_share
),

period_checks as (
    select
        period_shares.*,
        period_shares.met_share >= period_shares.min_share
        and (
            period_shares.limit_value is null
            or period_shares.limit_share <= period_shares.max_limit_share
        ) as is_met
    from period_shares
),

{# The best level met, else 4; no level without a value, nor without rule
    rows (which the seed tests forbid). #}
share_levels as (
    select
        period_checks.scenario_id,
        period_checks.indicator_code,
        period_checks.location_code,
        case
            when max(period_checks.value_count) > 0 and count(period_checks.tier_level) > 0
                then coalesce(min(period_checks.tier_level) filter (where period_checks.is_met), 4)
        end as tier_level,
        period_checks.metric_code,
        period_checks.metric_unit,
        max(period_checks.value_count) as value_count,
        (max(period_checks.met_share) filter (where period_checks.tier_level = 1))::double precision
            as level_1_share,
        (max(period_checks.met_share) filter (where period_checks.tier_level = 2))::double precision
            as level_2_share,
        (max(period_checks.met_share) filter (where period_checks.tier_level = 3))::double precision
            as level_3_share,
        (
            max(period_checks.limit_share) filter (where period_checks.tier_level = 1)
        )::double precision as level_1_limit_share,
        (
            max(period_checks.limit_share) filter (where period_checks.tier_level = 2)
        )::double precision as level_2_limit_share,
        (
            max(period_checks.limit_share) filter (where period_checks.tier_level = 3)
        )::double precision as level_3_limit_share,
        max(period_checks.worst_value) as metric_value,
        null::double precision as baseline_metric_value,
        period_checks.reason_if_unrated
    from period_checks
    group by
        period_checks.scenario_id,
        period_checks.indicator_code,
        period_checks.location_code,
        period_checks.metric_code,
        period_checks.metric_unit,
        period_checks.reason_if_unrated
),

{# Value rules, per location and level: the metric meets the threshold and,
    where the level requires it, is at least the baseline's (an unknown
    baseline is not met). #}
metric_checks as (
    select
        metrics.scenario_id,
        metrics.indicator_code,
        metrics.location_code,
        metrics.metric_code,
        metrics.metric_unit,
        metrics.value_count,
        metrics.metric_value,
        metrics.baseline_metric_value,
        metrics.reason_if_unrated,
        rule_parameters.tier_level,
        case rule_parameters.threshold_comparison
            when '>=' then metrics.metric_value >= rule_parameters.threshold_value
            when '>' then metrics.metric_value > rule_parameters.threshold_value
            when '<' then metrics.metric_value < rule_parameters.threshold_value
            when '<=' then metrics.metric_value <= rule_parameters.threshold_value
        end
        and (
            not rule_parameters.requires_baseline_or_better
            or coalesce(metrics.metric_value >= metrics.baseline_metric_value, false)
        ) as is_met
    from metrics
    left join rule_parameters
        on
            metrics.indicator_code = rule_parameters.indicator_code
            and metrics.location_code = rule_parameters.location_code
),

{# The best level met, else 4; no level without a metric, nor without rule
    rows. #}
metric_levels as (
    select
        metric_checks.scenario_id,
        metric_checks.indicator_code,
        metric_checks.location_code,
        case
            when metric_checks.metric_value is not null and count(metric_checks.tier_level) > 0
                then coalesce(min(metric_checks.tier_level) filter (where metric_checks.is_met), 4)
        end as tier_level,
        metric_checks.metric_code,
        metric_checks.metric_unit,
        metric_checks.value_count,
        null::double precision as level_1_share,
        null::double precision as level_2_share,
        null::double precision as level_3_share,
        null::double precision as level_1_limit_share,
        null::double precision as level_2_limit_share,
        null::double precision as level_3_limit_share,
        metric_checks.metric_value,
        metric_checks.baseline_metric_value,
        metric_checks.reason_if_unrated
    from metric_checks
    group by
        metric_checks.scenario_id,
        metric_checks.indicator_code,
        metric_checks.location_code,
        metric_checks.metric_code,
        metric_checks.metric_unit,
        metric_checks.value_count,
        metric_checks.metric_value,
        metric_checks.baseline_metric_value,
        metric_checks.reason_if_unrated
),

levels as (
    select * from share_levels
    union all
    select * from metric_levels
),

{# A level with the numbers that decided it, or no level and the reason only. #}
final as (
    select
        levels.scenario_id,
        levels.indicator_code,
        levels.location_code,
        levels.tier_level,
        levels.metric_code,
        levels.metric_unit,
        case when levels.tier_level is not null then levels.value_count end as value_count,
        levels.level_1_share,
        levels.level_2_share,
        levels.level_3_share,
        levels.level_1_limit_share,
        levels.level_2_limit_share,
        levels.level_3_limit_share,
        case when levels.tier_level is not null then levels.metric_value end as metric_value,
        case
            when levels.tier_level is not null then levels.baseline_metric_value
        end as baseline_metric_value,
        case when levels.tier_level is null then levels.reason_if_unrated end as unrated_reason
    from levels
)

select * from final
