{#-
    Every compact series of the scenarios a build computed has its row of
    annual arrays and every row comes from one: its arrays start at the water
    year of the series' first month and hold one element per water year the
    series spans, their month counts add up to the series' values present, the
    min, max, April and September values are in exactly one array each
    (`real[]` if and only if the series is float32), and volumes exist for
    flows only. Reads the arrays' lengths, not their values (the month counts
    aside, ~100 small integers per series).
-#}
with

series as (
    select * from {{ ref('fct_series_values_compact') }}
    where {{ scenario_store_scope() }}
),

annual as (
    select * from {{ ref('fct_annual_values_compact') }}
    where {{ scenario_store_scope() }}
),

annual_counts as (
    select
        annual.scenario_id,
        annual.variable_key,
        sum(month_counts.month_count) as value_count
    from annual
    cross join lateral unnest(annual.month_counts) as month_counts (month_count)
    group by annual.scenario_id, annual.variable_key
),

spans as (
    select
        series.scenario_id,
        series.variable_key,
        series.month_count - series.missing_count as value_count,
        series.monthly_values_f8 is null as is_float32,
        series.is_flow,
        {{ water_year('series.start_month') }} as start_water_year,
        {{ water_year("series.start_month + (series.month_count - 1) * interval '1 month'") }}
        - {{ water_year('series.start_month') }} + 1 as year_count
    from series
    where series.month_count > 0
),

compared as (
    select
        coalesce(spans.scenario_id, annual.scenario_id) as scenario_id,
        coalesce(spans.variable_key, annual.variable_key) as variable_key,
        annual.variable_key is null as is_missing,
        spans.variable_key is null as is_not_a_series,
        annual.start_water_year != spans.start_water_year as start_differs,
        (
            cardinality(annual.month_counts) != spans.year_count
            or cardinality(annual.mean_values) != spans.year_count
            or cardinality(coalesce(annual.months_sums_taf, annual.mean_values))
            != spans.year_count
            or cardinality(coalesce(annual.min_values_f4::double precision[], annual.min_values_f8))
            != spans.year_count
            or cardinality(coalesce(annual.max_values_f4::double precision[], annual.max_values_f8))
            != spans.year_count
            or cardinality(coalesce(annual.apr_values_f4::double precision[], annual.apr_values_f8))
            != spans.year_count
            or cardinality(coalesce(annual.sep_values_f4::double precision[], annual.sep_values_f8))
            != spans.year_count
        ) as lengths_differ,
        annual_counts.value_count != spans.value_count as counts_differ,
        (
            (annual.min_values_f4 is not null) = spans.is_float32
            and (annual.min_values_f8 is not null) = not spans.is_float32
            and (annual.max_values_f4 is not null) = spans.is_float32
            and (annual.max_values_f8 is not null) = not spans.is_float32
            and (annual.apr_values_f4 is not null) = spans.is_float32
            and (annual.apr_values_f8 is not null) = not spans.is_float32
            and (annual.sep_values_f4 is not null) = spans.is_float32
            and (annual.sep_values_f8 is not null) = not spans.is_float32
        ) as precision_matches,
        (annual.months_sums_taf is not null) != spans.is_flow as volumes_differ
    from spans
    full outer join annual
        on
            spans.scenario_id = annual.scenario_id
            and spans.variable_key = annual.variable_key
    left join annual_counts
        on
            annual.scenario_id = annual_counts.scenario_id
            and annual.variable_key = annual_counts.variable_key
),

final as (
    select *
    from compared
    where
        is_missing
        or is_not_a_series
        or start_differs
        or lengths_differ
        or counts_differ
        or not precision_matches
        or volumes_differ
)

select * from final
