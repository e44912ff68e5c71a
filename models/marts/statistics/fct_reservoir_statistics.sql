{#- The scenarios this run computes (metadata; none on a first build). #}
{%- set to_build = statistics_to_build_ids('reservoir_parameters_hash') %}

with

reservoirs as (
    select * from {{ ref('dim_reservoirs') }}
),

flood_releases as (
    select * from {{ ref('reservoir_flood_releases') }}
),

series as (
    select * from {{ ref('fct_series_values') }}
),

monthly as (
    select * from {{ ref('fct_monthly_values') }}
),

statistics as (
    select * from {{ ref('fct_series_statistics') }}
),

parameters as (
    select parameter_hashes.reservoir_parameters_hash as parameters_hash
    from {{ ref('int_statistics_parameter_hashes') }} as parameter_hashes
),

scenario_loads as (
    {{ statistics_scenario_loads('series', to_build) }}
),

storage_statistics as (
    select
        statistics.scenario_id,
        reservoirs.reservoir_code,
        'storage' as metric_code,
        statistics.period,
        statistics.statistic_code,
        statistics.value,
        statistics.value_unit,
        statistics.value_count,
        reservoirs.storage_variable_key as basis
    from statistics
    inner join reservoirs on statistics.variable_key = reservoirs.storage_variable_key
    where
        statistics.period != 'annual'
        {#- `= any(array(...))` filters keep the scans of the big relations on their
            primary key (a join there is planned after unnesting every series). #}
        and {{ statistics_is_to_build('statistics.scenario_id', to_build) }}
        and statistics.variable_key = any(
            array(select listed.storage_variable_key as variable_key from reservoirs as listed)
        )
),

capacity_statistics as (
    select
        storage_statistics.scenario_id,
        storage_statistics.reservoir_code,
        'storage_pct_capacity' as metric_code,
        storage_statistics.period,
        storage_statistics.statistic_code,
        case
            when storage_statistics.statistic_code = 'cv' then storage_statistics.value
            else storage_statistics.value * 100 / reservoirs.capacity_taf
        end as value,
        case when storage_statistics.statistic_code = 'cv' then 'NONE' else 'PERCENT' end
            as value_unit,
        storage_statistics.value_count,
        'capacity_taf' as basis
    from storage_statistics
    inner join reservoirs on storage_statistics.reservoir_code = reservoirs.reservoir_code
    where reservoirs.capacity_taf > 0
),

reservoir_variables as (
    select
        reservoirs.reservoir_code,
        'storage' as variable_role,
        reservoirs.storage_variable_key as variable_key,
        null::double precision as spill_threshold_cfs
    from reservoirs
    union all
    select
        reservoirs.reservoir_code,
        'flood_pool' as variable_role,
        reservoirs.flood_pool_variable_key as variable_key,
        null::double precision as spill_threshold_cfs
    from reservoirs
    where reservoirs.flood_pool_variable_key is not null
    union all
    select
        reservoirs.reservoir_code,
        'dead_pool' as variable_role,
        reservoirs.dead_pool_variable_key as variable_key,
        null::double precision as spill_threshold_cfs
    from reservoirs
    where reservoirs.dead_pool_variable_key is not null
    union all
    select
        flood_releases.reservoir_code,
        'flood_release' as variable_role,
        flood_releases.b_part || '/' || flood_releases.c_part as variable_key,
        flood_releases.spill_threshold_cfs
    from flood_releases
),

reservoir_values as (
    select
        monthly.scenario_id,
        reservoir_variables.reservoir_code,
        reservoir_variables.variable_role,
        reservoir_variables.variable_key,
        reservoir_variables.spill_threshold_cfs,
        monthly.month_date,
        monthly.water_year,
        monthly.water_month,
        monthly.value
    from monthly
    inner join reservoir_variables on monthly.variable_key = reservoir_variables.variable_key
    where
        {{ statistics_is_to_build('monthly.scenario_id', to_build) }}
        and monthly.variable_key = any(
            array(select listed.variable_key from reservoir_variables as listed)
        )
),

dead_levels_present as (
    select distinct
        reservoir_values.scenario_id,
        reservoir_values.reservoir_code
    from reservoir_values
    where reservoir_values.variable_role = 'dead_pool'
),

reservoir_months as (
    select
        reservoir_values.scenario_id,
        reservoir_values.reservoir_code,
        reservoir_values.month_date,
        min(reservoir_values.water_month) as water_month,
        max(reservoir_values.value) filter (where reservoir_values.variable_role = 'storage')
            as storage_taf,
        max(reservoir_values.value) filter (where reservoir_values.variable_role = 'flood_pool')
            as flood_pool_taf,
        max(reservoir_values.value) filter (where reservoir_values.variable_role = 'dead_pool')
            as dead_level_taf,
        min(reservoir_values.variable_key) filter (
            where reservoir_values.variable_role = 'flood_pool'
        )
            as flood_pool_basis
    from reservoir_values
    where reservoir_values.variable_role in ('storage', 'flood_pool', 'dead_pool')
    group by
        reservoir_values.scenario_id,
        reservoir_values.reservoir_code,
        reservoir_values.month_date
),

pool_months as (
    select
        reservoir_months.scenario_id,
        reservoir_months.reservoir_code,
        reservoir_months.water_month,
        reservoir_months.flood_pool_basis,
        case
            when dead_levels_present.reservoir_code is not null
                then reservoirs.dead_pool_variable_key
            else 'dead_pool_taf'
        end as dead_pool_basis,
        reservoir_months.storage_taf >= reservoir_months.flood_pool_taf as is_flood_pool,
        reservoir_months.storage_taf <= case
            when dead_levels_present.reservoir_code is not null then reservoir_months.dead_level_taf
            else reservoirs.dead_pool_taf
        end as is_dead_pool
    from reservoir_months
    inner join reservoirs on reservoir_months.reservoir_code = reservoirs.reservoir_code
    left join dead_levels_present
        on
            reservoir_months.scenario_id = dead_levels_present.scenario_id
            and reservoir_months.reservoir_code = dead_levels_present.reservoir_code
),

pool_probabilities as (
    select
        pool_months.scenario_id,
        pool_months.reservoir_code,
        coalesce(pool_months.water_month::text, 'all') as period,
        min(pool_months.flood_pool_basis) as flood_pool_basis,
        min(pool_months.dead_pool_basis) as dead_pool_basis,
        count(pool_months.is_flood_pool)::integer as flood_month_count,
        {{ statistics_share_true('pool_months.is_flood_pool') }} as flood_pool_probability,
        count(pool_months.is_dead_pool)::integer as dead_month_count,
        {{ statistics_share_true('pool_months.is_dead_pool') }} as dead_pool_probability
    from pool_months
    group by grouping sets (
        (pool_months.scenario_id, pool_months.reservoir_code, pool_months.water_month),
        (pool_months.scenario_id, pool_months.reservoir_code)
    )
),

spill_months as (
    select
        reservoir_values.scenario_id,
        reservoir_values.reservoir_code,
        reservoir_values.water_year,
        reservoir_values.water_month,
        reservoir_values.value > reservoir_values.spill_threshold_cfs as is_spill,
        reservoir_values.variable_key
    from reservoir_values
    where reservoir_values.variable_role = 'flood_release'
),

spill_frequencies as (
    select
        spill_months.scenario_id,
        spill_months.reservoir_code,
        coalesce(spill_months.water_month::text, 'all') as period,
        min(spill_months.variable_key) as basis,
        count(spill_months.is_spill)::integer as value_count,
        {{ statistics_share_true('spill_months.is_spill') }} as value
    from spill_months
    group by grouping sets (
        (spill_months.scenario_id, spill_months.reservoir_code, spill_months.water_month),
        (spill_months.scenario_id, spill_months.reservoir_code)
    )
),

spill_years as (
    select
        spill_months.scenario_id,
        spill_months.reservoir_code,
        spill_months.water_year,
        min(spill_months.variable_key) as basis,
        bool_or(spill_months.is_spill) as has_spill
    from spill_months
    group by spill_months.scenario_id, spill_months.reservoir_code, spill_months.water_year
),

spill_year_frequencies as (
    select
        spill_years.scenario_id,
        spill_years.reservoir_code,
        'annual' as period,
        min(spill_years.basis) as basis,
        count(spill_years.has_spill)::integer as value_count,
        {{ statistics_share_true('spill_years.has_spill') }} as value
    from spill_years
    group by spill_years.scenario_id, spill_years.reservoir_code
),

pool_rows as (
    select
        pool_probabilities.scenario_id,
        pool_probabilities.reservoir_code,
        'flood_pool' as metric_code,
        pool_probabilities.period,
        'probability' as statistic_code,
        pool_probabilities.flood_pool_probability as value,
        'FRACTION' as value_unit,
        pool_probabilities.flood_month_count as value_count,
        pool_probabilities.flood_pool_basis as basis
    from pool_probabilities
    where pool_probabilities.flood_month_count > 0
    union all
    select
        pool_probabilities.scenario_id,
        pool_probabilities.reservoir_code,
        'dead_pool' as metric_code,
        pool_probabilities.period,
        'probability' as statistic_code,
        pool_probabilities.dead_pool_probability as value,
        'FRACTION' as value_unit,
        pool_probabilities.dead_month_count as value_count,
        pool_probabilities.dead_pool_basis as basis
    from pool_probabilities
    where pool_probabilities.dead_month_count > 0
),

spill_rows as (
    select
        spill_frequencies.scenario_id,
        spill_frequencies.reservoir_code,
        'spill' as metric_code,
        spill_frequencies.period,
        'frequency' as statistic_code,
        spill_frequencies.value,
        'FRACTION' as value_unit,
        spill_frequencies.value_count,
        spill_frequencies.basis
    from spill_frequencies
    where spill_frequencies.value_count > 0
    union all
    select
        spill_year_frequencies.scenario_id,
        spill_year_frequencies.reservoir_code,
        'spill' as metric_code,
        spill_year_frequencies.period,
        'frequency' as statistic_code,
        spill_year_frequencies.value,
        'FRACTION' as value_unit,
        spill_year_frequencies.value_count,
        spill_year_frequencies.basis
    from spill_year_frequencies
    where spill_year_frequencies.value_count > 0
),

all_rows as (
    select * from storage_statistics
    union all
    select * from capacity_statistics
    union all
    select * from pool_rows
    union all
    select * from spill_rows
),

final as (
    select
        all_rows.scenario_id,
        all_rows.reservoir_code,
        all_rows.metric_code,
        all_rows.period,
        all_rows.statistic_code,
        all_rows.value_unit,
        all_rows.basis,
        all_rows.value,
        all_rows.value_count,
        parameters.parameters_hash,
        scenario_loads.loaded_at
    from all_rows
    inner join scenario_loads on all_rows.scenario_id = scenario_loads.scenario_id
    cross join parameters
)

select * from final
