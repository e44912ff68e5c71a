-- Percentiles carry a percentile in 0-100, exceedance levels an exceedance
-- probability strictly between 0 and 100, and the flags match the family.

with

statistic_types as (
    select * from {{ ref('statistic_types') }}
),

final as (
    select
        statistic_code,
        statistic_family,
        percentile,
        exceedance_pct,
        is_percentile,
        is_exceedance
    from statistic_types
    where
        is_percentile != (statistic_family = 'percentile')
        or is_exceedance != (statistic_family = 'exceedance')
        or (is_percentile and percentile is null)
        or (is_exceedance and exceedance_pct is null)
        or not percentile between 0 and 100
        or exceedance_pct <= 0
        or exceedance_pct >= 100
)

select * from final
