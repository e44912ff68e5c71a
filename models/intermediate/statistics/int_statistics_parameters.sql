with

statistic_types as (
    select * from {{ ref('statistic_types') }}
),

parameters as (
    select * from {{ ref('statistics_parameters') }}
),

quantiles as (
    select
        array_agg(statistic_code order by display_order) as quantile_codes,
        array_agg(
            (coalesce(exceedance_pct, percentile) / 100)::double precision order by display_order
        ) as quantile_probabilities,
        array_agg(exceedance_pct is not null order by display_order) as quantile_is_exceedance
    from statistic_types
    where
        percentile is not null
        or exceedance_pct is not null
),

scalars as (
    select
        max(value) filter (where parameter_code = 'plotting_position_a') as plotting_position_a,
        max(value) filter (where parameter_code = 'cv_mean_guard') as cv_mean_guard,
        max(value) filter (
            where parameter_code = 'annual_min_months'
        )::integer as annual_min_months,
        max(value) filter (
            where parameter_code = 'shortage_year_threshold_taf'
        ) as shortage_year_threshold_taf
    from parameters
),

final as (
    select
        quantiles.quantile_codes,
        quantiles.quantile_probabilities,
        quantiles.quantile_is_exceedance,
        scalars.plotting_position_a,
        scalars.cv_mean_guard,
        scalars.annual_min_months,
        scalars.shortage_year_threshold_taf
    from quantiles
    cross join scalars
)

select * from final
