{#-
    FW_DELTA_USES (one result, location DELTA): each month's salinity is the
    larger EC of the salinity stations of tier_locations (Emmaton, Jersey
    Point). Level 1 if EC < 900 µS/cm in at least 75 % of the months and
    > 2,500 in at most 5 %; 2: 65 % and 12 %; 3: 55 % and 20 %
    (tier_rule_parameters); else 4. A month counts when at least one station
    has a value; the metric is the saltiest month.
-#}
with

locations as (
    select * from {{ ref('tier_locations') }}
),

rule_parameters as (
    select * from {{ ref('tier_rule_parameters') }}
),

series as (
    select * from {{ ref('fct_series_values') }}
),

stations as (
    select locations.b_part || '/' || locations.c_part as variable_key
    from locations
    where
        locations.indicator_code = 'FW_DELTA_USES'
        and locations.role = 'salinity_station'
),

rated as (
    select locations.location_code
    from locations
    where
        locations.indicator_code = 'FW_DELTA_USES'
        and locations.role = 'rated'
),

parameters as (
    select
        rule_parameters.indicator_code,
        rule_parameters.location_code,
        rule_parameters.tier_level,
        rule_parameters.threshold_comparison,
        rule_parameters.threshold_value,
        rule_parameters.min_share,
        rule_parameters.limit_comparison,
        rule_parameters.limit_value,
        rule_parameters.max_limit_share
    from rule_parameters
    where rule_parameters.indicator_code = 'FW_DELTA_USES'
),

station_series as (
    select
        series.scenario_id,
        series.variable_key,
        series.start_month,
        series.monthly_values,
        series.taf_per_cfs_day
    from series
    where series.variable_key = any(array(select stations.variable_key from stations))
),

station_months as (
    {{ unnest_monthly_values('station_series') }}
),

periods as (
    select
        station_months.scenario_id,
        rated.location_code,
        station_months.month_date,
        max(station_months.value) as value
    from station_months
    cross join rated
    group by station_months.scenario_id, rated.location_code, station_months.month_date
),

final as (
    {{ tier_share_rule_levels('periods', 'parameters', 'max_monthly_ec', 'UMHOS/CM', 'max') }}
)

select * from final
