{#- The scenarios this run computes (metadata; none on a first build). #}
{%- set to_build = statistics_to_build_ids(
    'delivery_parameters_hash', loads_model='fct_delivery_annual'
) %}

with

annual as (
    select * from {{ ref('fct_delivery_annual') }}
),

parameter_hashes as (
    select * from {{ ref('int_statistics_parameter_hashes') }}
),

summary as (
    select
        annual.scenario_id,
        annual.delivery_code,
        min(annual.delivery_type) as delivery_type,
        count(*)::integer as year_count,
        {#- every mean in water-year order: the same years give the same
            bits whatever order the rows arrive in (other scenarios loaded) #}
        avg(annual.delivery_taf order by annual.water_year) as mean_delivery_taf,
        avg(annual.shortage_taf order by annual.water_year) as mean_shortage_taf,
        avg(annual.demand_taf order by annual.water_year) as mean_demand_taf,
        (count(*) filter (where annual.is_shortage_year))::double precision as shortage_year_count,
        avg(annual.percent_demand_met order by annual.water_year) as mean_percent_demand_met,
        min(annual.percent_demand_met) as min_percent_demand_met,
        count(annual.percent_demand_met)::integer as percent_year_count,
        max(annual.loaded_at) as loaded_at
    from annual
    where
        annual.is_complete_year
        and {{ statistics_is_to_build('annual.scenario_id', to_build) }}
    group by annual.scenario_id, annual.delivery_code
),

unpivoted as (
    select
        summary.scenario_id,
        summary.delivery_code,
        summary.delivery_type,
        metrics.metric_code,
        metrics.statistic_code,
        metrics.value_unit,
        metrics.value,
        metrics.value_count,
        parameter_hashes.delivery_parameters_hash as parameters_hash,
        summary.loaded_at
    from summary
    cross join parameter_hashes
    cross join lateral (
        values
        ('delivery', 'mean', 'TAF', summary.mean_delivery_taf, summary.year_count),
        ('shortage', 'mean', 'TAF', summary.mean_shortage_taf, summary.year_count),
        ('demand', 'mean', 'TAF', summary.mean_demand_taf, summary.year_count),
        (
            'delivery',
            'reliability',
            'FRACTION',
            case
                when summary.mean_demand_taf <> 0
                    then 1 - summary.mean_shortage_taf / summary.mean_demand_taf
            end,
            summary.year_count
        ),
        ('shortage', 'shortage_years', 'COUNT', summary.shortage_year_count, summary.year_count),
        (
            'percent_demand_met',
            'mean',
            'PERCENT',
            summary.mean_percent_demand_met,
            summary.percent_year_count
        ),
        (
            'percent_demand_met',
            'min',
            'PERCENT',
            summary.min_percent_demand_met,
            summary.percent_year_count
        )
    ) as metrics (metric_code, statistic_code, value_unit, value, value_count)
),

final as (
    select
        unpivoted.scenario_id,
        unpivoted.delivery_code,
        unpivoted.metric_code,
        'annual' as period,
        unpivoted.statistic_code,
        unpivoted.delivery_type,
        unpivoted.value_unit,
        unpivoted.value,
        unpivoted.value_count,
        unpivoted.parameters_hash,
        unpivoted.loaded_at
    from unpivoted
)

select * from final
