{#-
    Every stored statistic was computed with the current seeds (its
    parameters_hash is the family's current fingerprint) and every quantile
    array has one value per current quantile code, so the long views name the
    values correctly.
-#}
with

series_statistics as (
    select * from {{ ref('fct_series_statistics_compact') }}
    where {{ scenario_store_scope() }}
),

year_type_statistics as (
    select * from {{ ref('fct_year_type_statistics_compact') }}
    where {{ scenario_store_scope() }}
),

parameters as (
    select * from {{ ref('int_statistics_parameters') }}
),

parameter_hashes as (
    select * from {{ ref('int_statistics_parameter_hashes') }}
),

stale_series as (
    select
        'fct_series_statistics_compact' as model_name,
        series_statistics.scenario_id,
        series_statistics.variable_key,
        series_statistics.period
    from series_statistics
    cross join parameters
    cross join parameter_hashes
    where
        series_statistics.parameters_hash != parameter_hashes.series_parameters_hash
        or cardinality(series_statistics.quantile_values)
        != cardinality(parameters.quantile_codes)
),

stale_year_types as (
    select
        'fct_year_type_statistics_compact' as model_name,
        year_type_statistics.scenario_id,
        year_type_statistics.variable_key,
        year_type_statistics.period
    from year_type_statistics
    cross join parameters
    cross join parameter_hashes
    where
        year_type_statistics.parameters_hash != parameter_hashes.year_type_parameters_hash
        or cardinality(year_type_statistics.quantile_values)
        != cardinality(parameters.quantile_codes)
),

final as (
    select * from stale_series
    union all
    select * from stale_year_types
)

select * from final
