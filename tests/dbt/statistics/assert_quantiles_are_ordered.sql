{#-
    Order checks on every stored row of the general statistics: percentiles do
    not decrease with their probability, exceedance levels do not increase with
    theirs, and the mean and every quantile lie within [min, max] (up to a
    relative 1e-12 for rounding).
-#}
with

statistics as (
    select * from {{ ref('fct_series_statistics') }}
    where {{ scenario_store_scope() }}
),

statistic_types as (
    select * from {{ ref('statistic_types') }}
),

ranked as (
    select
        statistics.scenario_id,
        statistics.variable_key,
        statistics.period,
        statistics.statistic_code,
        statistics.value,
        statistic_types.exceedance_pct is not null as is_exceedance,
        coalesce(statistic_types.exceedance_pct, statistic_types.percentile) as probability,
        min(statistics.value) filter (where statistics.statistic_code = 'min') over (
            partition by statistics.scenario_id, statistics.variable_key, statistics.period
        ) as min_value,
        max(statistics.value) filter (where statistics.statistic_code = 'max') over (
            partition by statistics.scenario_id, statistics.variable_key, statistics.period
        ) as max_value
    from statistics
    inner join statistic_types on statistics.statistic_code = statistic_types.statistic_code
    where statistics.statistic_code != 'sd' and statistics.statistic_code != 'cv'
),

with_neighbours as (
    select
        ranked.*,
        lag(ranked.value) over (
            partition by
                ranked.scenario_id, ranked.variable_key, ranked.period, ranked.is_exceedance
            order by ranked.probability
        ) as previous_value
    from ranked
    where ranked.probability is not null
),

out_of_order as (
    select
        with_neighbours.scenario_id,
        with_neighbours.variable_key,
        with_neighbours.period,
        with_neighbours.statistic_code,
        with_neighbours.value,
        with_neighbours.previous_value
    from with_neighbours
    where
        (
            not with_neighbours.is_exceedance
            and with_neighbours.value < with_neighbours.previous_value
        )
        or (
            with_neighbours.is_exceedance
            and with_neighbours.value > with_neighbours.previous_value
        )
),

out_of_range as (
    select
        ranked.scenario_id,
        ranked.variable_key,
        ranked.period,
        ranked.statistic_code,
        ranked.value,
        null::double precision as previous_value
    from ranked
    where
        ranked.value < ranked.min_value - 1e-12 * abs(ranked.min_value)
        or ranked.value > ranked.max_value + 1e-12 * abs(ranked.max_value)
),

final as (
    select * from out_of_order
    union all
    select * from out_of_range
)

select * from final
