{#-
    FW_DELTA_USES (one result, location DELTA): each month's salinity is the
    larger EC of the salinity stations of tier_locations (Emmaton, Jersey
    Point). Level 1 if EC < 900 µS/cm in at least 75 % of the months and
    > 2,500 in at most 5 %; 2: 65 % and 12 %; 3: 55 % and 20 %
    (tier_rule_parameters); else 4. A month counts when at least one station
    has a value; the metric is the saltiest month. Both stations' series are
    required: without one the result has no level and says which is missing
    (unrated_reason).
-#}
with

stations as (
    {{ tier_indicator_locations('FW_DELTA_USES', ['salinity_station']) }}
),

rated as (
    {{ tier_indicator_locations('FW_DELTA_USES', ['rated']) }}
),

parameters as (
    {{ tier_indicator_parameters('FW_DELTA_USES') }}
),

inputs as (
    select
        rated.location_code,
        stations.variable_key as input_group,
        1 as group_order,
        1 as key_order,
        stations.variable_key
    from stations
    cross join rated
),

station_series as (
    {{ tier_location_series('stations') }}
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

levels as (
    {{ tier_share_rule_levels('periods', 'parameters', 'max_monthly_ec', 'UMHOS/CM', 'max') }}
),

final as (
    {{ tier_rated_results(
        'FW_DELTA_USES', 'levels', 'inputs', 'max_monthly_ec', 'UMHOS/CM',
        'no month with a salinity value', 'no salinity station for this location'
    ) }}
)

select * from final
