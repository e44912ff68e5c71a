with

final as (
    select
        {{ statistics_parameters_hash([ref('statistic_types'), ref('statistics_parameters')]) }}
            as series_parameters_hash,
        {{ statistics_parameters_hash([
            ref('statistic_types'), ref('statistics_parameters'),
            ref('year_type_sources'), ref('dim_water_years')
        ]) }} as year_type_parameters_hash,
        {{ statistics_parameters_hash([
            ref('statistic_types'), ref('statistics_parameters'),
            ref('dim_reservoirs'), ref('reservoir_flood_releases')
        ]) }} as reservoir_parameters_hash,
        {{ statistics_parameters_hash([
            ref('statistics_parameters'), ref('delivery_aggregates'), ref('demand_unit_series')
        ]) }} as delivery_parameters_hash,
        {{ statistics_parameters_hash([
            ref('statistic_types'), ref('statistics_parameters'), ref('delta_series'),
            ref('salinity_thresholds'), ref('x2_seasons')
        ]) }} as delta_parameters_hash
)

select * from final
