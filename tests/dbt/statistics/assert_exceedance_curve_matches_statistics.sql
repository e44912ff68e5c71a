{#-
    The exceedance_curve() function and the stored exceedance statistics use the
    same plotting position: for the first five series of every scenario, over
    all months, reading the curve at each exceedance level (linear
    interpolation between its two neighbouring points, the end value beyond its
    ends) gives the stored statistic (relative 1e-9), and the curve has one
    point per non-NULL value with increasing probabilities.
-#}
with

statistics as (
    select * from {{ ref('fct_series_statistics_compact') }}
    where {{ scenario_store_scope() }}
),

parameters as (
    select * from {{ ref('int_statistics_parameters') }}
),

checked_series as (
    select
        ranked.scenario_id,
        ranked.variable_key,
        ranked.value_count,
        ranked.quantile_values
    from (
        select
            statistics.scenario_id,
            statistics.variable_key,
            statistics.value_count,
            statistics.quantile_values,
            row_number() over (
                partition by statistics.scenario_id order by statistics.variable_key
            ) as series_rank
        from statistics
        where statistics.period = 'all'
    ) as ranked
    where ranked.series_rank <= 5
),

curves as (
    select
        checked_series.scenario_id,
        checked_series.variable_key,
        curve.exceedance_pct,
        curve.value,
        curve.value_rank
    from checked_series
    cross join
        lateral {{ ref('fct_series_statistics_compact').schema }}.exceedance_curve(
            checked_series.scenario_id, checked_series.variable_key, 'all'
        ) as curve
),

curve_shapes as (
    select
        curves.scenario_id,
        curves.variable_key,
        count(*) as point_count,
        bool_and(curves.exceedance_pct > coalesce(curves.previous_pct, -1)) as is_increasing
    from (
        select
            curves.*,
            lag(curves.exceedance_pct) over (
                partition by curves.scenario_id, curves.variable_key order by curves.value_rank
            ) as previous_pct
        from curves
    ) as curves
    group by curves.scenario_id, curves.variable_key
),

levels as (
    select
        checked_series.scenario_id,
        checked_series.variable_key,
        quantiles.statistic_code,
        100 * quantiles.probability as exceedance_pct,
        quantiles.stored_value
    from checked_series
    cross join parameters
    cross join
        lateral unnest(
            parameters.quantile_codes,
            parameters.quantile_probabilities,
            parameters.quantile_is_exceedance,
            checked_series.quantile_values
        ) as quantiles (statistic_code, probability, is_exceedance, stored_value)
    where quantiles.is_exceedance
),

read_off as (
    select
        levels.*,
        below.exceedance_pct as below_pct,
        below.value as below_value,
        above.exceedance_pct as above_pct,
        above.value as above_value
    from levels
    left join lateral (
        select
            curves.exceedance_pct,
            curves.value
        from curves
        where
            curves.scenario_id = levels.scenario_id
            and curves.variable_key = levels.variable_key
            and curves.exceedance_pct <= levels.exceedance_pct
        order by curves.exceedance_pct desc
        limit 1
    ) as below on true
    left join lateral (
        select
            curves.exceedance_pct,
            curves.value
        from curves
        where
            curves.scenario_id = levels.scenario_id
            and curves.variable_key = levels.variable_key
            and curves.exceedance_pct >= levels.exceedance_pct
        order by curves.exceedance_pct asc
        limit 1
    ) as above on true
),

interpolated as (
    select
        read_off.*,
        case
            when read_off.below_pct is null then read_off.above_value
            when read_off.above_pct is null then read_off.below_value
            when read_off.above_pct = read_off.below_pct then read_off.below_value
            else
                read_off.below_value
                + (read_off.above_value - read_off.below_value)
                * (read_off.exceedance_pct - read_off.below_pct)
                / (read_off.above_pct - read_off.below_pct)
        end as curve_value
    from read_off
),

final as (
    select
        interpolated.scenario_id,
        interpolated.variable_key,
        interpolated.statistic_code,
        interpolated.stored_value,
        interpolated.curve_value,
        null::bigint as point_count
    from interpolated
    where
        abs(interpolated.curve_value - interpolated.stored_value)
        > 1e-9 * greatest(abs(interpolated.stored_value), 1e-9)
    union all
    select
        curve_shapes.scenario_id,
        curve_shapes.variable_key,
        'curve shape' as statistic_code,
        null as stored_value,
        null as curve_value,
        curve_shapes.point_count
    from curve_shapes
    inner join checked_series
        on
            curve_shapes.scenario_id = checked_series.scenario_id
            and curve_shapes.variable_key = checked_series.variable_key
    where
        curve_shapes.point_count != checked_series.value_count
        or not curve_shapes.is_increasing
)

select * from final
