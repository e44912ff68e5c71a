{#-
    months_sum_taf, not total_taf: total_taf is NULL for an incomplete year,
    which a lowered `annual_min_months` lets count.
-#}
with

annual as (
    select * from {{ ref('fct_annual_values') }}
),

series as (
    select * from {{ ref('fct_series_values') }}
),

parameters as (
    select * from {{ ref('int_statistics_parameters') }}
),

final as (
    select
        annual.scenario_id,
        annual.variable_key,
        annual.water_year,
        case when series.is_flow then 'TAF' else series.unit_code end as value_unit,
        annual.month_count,
        case
            when series.is_flow then annual.months_sum_taf else annual.mean_value
        end as annual_value,
        annual.month_count >= parameters.annual_min_months as is_counted
    from annual
    inner join series
        on
            annual.scenario_id = series.scenario_id
            and annual.variable_key = series.variable_key
    cross join parameters
)

select * from final
