{#-
    Months, not a level (the rule is int_tier_rule_levels'). In-Delta users
    see the saltier of the two stations, hence the larger EC per month; a
    month with one station reading still counts. Both stations are required
    all the same: a month read at one only would look fresher than it is.
-#}
with

stations as (
    {{ tier_indicator_locations('FW_DELTA_USES', ['salinity_station']) }}
),

rated as (
    {{ tier_indicator_locations('FW_DELTA_USES', ['rated']) }}
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
        station_months.water_year,
        station_months.month_date,
        max(station_months.value) as value
    from station_months
    cross join rated
    group by
        station_months.scenario_id,
        rated.location_code,
        station_months.water_year,
        station_months.month_date
),

final as (
    {{ tier_tagged_rows(
        'FW_DELTA_USES', 'periods', ['water_year', 'month_date', 'value'], 'inputs',
        'max_monthly_ec', 'UMHOS/CM',
        'no month with a salinity value', 'no salinity station for this location'
    ) }}
)

select * from final
