{#-
    Reconciliation: every raw series (after the DV-over-SV choice) and every one
    of its values reaches fct_monthly_values, per scenario: same number of series,
    of months, of non-missing values, and the same sum of values. It unnests
    every value of the long view: `coeqwal audit` runs it; a build checks the
    arrays it stored instead (assert_compact_series_match_raw).
-#}
{{ config(tags=['audit']) }}
with

raw_series as (
    select * from {{ ref('int_series_classified') }}
    where {{ scenario_store_scope() }}
),

monthly as (
    select * from {{ ref('fct_monthly_values') }}
    where {{ scenario_store_scope() }}
),

raw_sums as (
    select
        raw_series.scenario_id,
        sum(vals.value) as value_sum
    from raw_series
    cross join lateral unnest(raw_series.monthly_values) as vals (value)
    group by raw_series.scenario_id
),

raw_totals as (
    select
        raw_series.scenario_id,
        raw_sums.value_sum,
        count(distinct raw_series.variable_key) as series_count,
        sum(raw_series.month_count) as month_count,
        sum(raw_series.month_count - raw_series.missing_count) as value_count
    from raw_series
    inner join raw_sums on raw_series.scenario_id = raw_sums.scenario_id
    group by raw_series.scenario_id, raw_sums.value_sum
),

fact_series as (
    select
        scenario_id,
        variable_key,
        count(*) as month_count,
        count(value) as value_count,
        sum(value) as value_sum
    from monthly
    group by scenario_id, variable_key
),

fact_totals as (
    -- Per series first (fact_series, a hash of one row per series):
    -- count(distinct) per scenario sorted every value, 660 MB of temporary
    -- files and 9.7 s for one full-size scenario, against none and 3.6 s.
    select
        scenario_id,
        count(*) as series_count,
        sum(month_count) as month_count,
        sum(value_count) as value_count,
        sum(value_sum) as value_sum
    from fact_series
    group by scenario_id
),

final as (
    select
        coalesce(raw_totals.scenario_id, fact_totals.scenario_id) as scenario_id,
        raw_totals.series_count as raw_series,
        fact_totals.series_count as fact_series,
        raw_totals.month_count as raw_months,
        fact_totals.month_count as fact_months,
        raw_totals.value_count as raw_values,
        fact_totals.value_count as fact_values
    from raw_totals
    full outer join fact_totals on raw_totals.scenario_id = fact_totals.scenario_id
    where
        raw_totals.series_count is distinct from fact_totals.series_count
        or raw_totals.month_count is distinct from fact_totals.month_count
        or raw_totals.value_count is distinct from fact_totals.value_count
        or abs(raw_totals.value_sum - fact_totals.value_sum)
        > 1e-9 * greatest(abs(raw_totals.value_sum), 1)
)

select * from final
