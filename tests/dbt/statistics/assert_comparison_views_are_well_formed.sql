{#-
    The comparison views, read once each for the scenarios this build computed:
    every key present, no key twice, scenarios, baselines, variables and
    statistic codes known. The per-column tests of these views check the same
    one column at a time and so recompute the comparisons once per test (7-9 s
    each for a full-size alternative): they carry the tag audit, and
    `coeqwal audit` runs them on every scenario. The long views
    (fct_series_comparisons, api_comparisons) unpivot the compact ones: they are
    read for one series of each scenario.
-#}
{%- set scope = scenario_store_scope() | trim -%}
{%- set first_variable -%}
    select min(statistics.variable_key)
    from {{ ref('fct_series_statistics_compact') }} as statistics
    where {{ scenario_store_scope('statistics.scenario_id') }}
{%- endset -%}
{%- set sampled = [] if scope == 'false' else scenario_ids_of(first_variable) %}

with

series_comparisons as materialized (
    select
        scenario_id,
        variable_key,
        period,
        baseline_scenario_id
    from {{ ref('fct_series_comparisons_compact') }}
    where {{ scope }}
),

year_type_comparisons as materialized (
    select
        scenario_id,
        variable_key,
        year_type_source,
        year_type_code,
        period,
        baseline_scenario_id
    from {{ ref('fct_year_type_comparisons_compact') }}
    where {{ scope }}
),

long_comparisons as (
    select
        'fct_series_comparisons' as relation_name,
        scenario_id,
        variable_key,
        period,
        statistic_code,
        baseline_scenario_id
    from {{ ref('fct_series_comparisons') }}
    where {{ scope }} and {{ scenario_id_in('variable_key', sampled) }}
    union all
    select
        'api_comparisons' as relation_name,
        scenario_id,
        variable_key,
        period,
        statistic_code,
        baseline_scenario_id
    from {{ ref('api_comparisons') }}
    where {{ scope }} and {{ scenario_id_in('variable_key', sampled) }}
),

scenarios as (
    select scenario_id from {{ ref('dim_scenarios') }}
),

variables as (
    select variable_key from {{ ref('dim_variables') }}
),

statistic_types as (
    select statistic_code from {{ ref('statistic_types') }}
),

compact_keys as (
    select
        'fct_series_comparisons_compact' as relation_name,
        scenario_id,
        variable_key,
        period as key_detail,
        baseline_scenario_id,
        (period is null) as has_null_key
    from series_comparisons
    union all
    select
        'fct_year_type_comparisons_compact' as relation_name,
        scenario_id,
        variable_key,
        concat_ws('/', year_type_source, year_type_code, period) as key_detail,
        baseline_scenario_id,
        (year_type_source is null or year_type_code is null or period is null) as has_null_key
    from year_type_comparisons
),

repeated_keys as (
    select
        'fct_series_comparisons_compact' as relation_name,
        scenario_id,
        concat_ws(' ', variable_key, period) as detail
    from series_comparisons
    group by scenario_id, variable_key, period
    having count(*) > 1
    union all
    select
        'fct_year_type_comparisons_compact' as relation_name,
        scenario_id,
        concat_ws(' ', variable_key, year_type_source, year_type_code, period) as detail
    from year_type_comparisons
    group by scenario_id, variable_key, year_type_source, year_type_code, period
    having count(*) > 1
),

pairs as (
    select distinct
        relation_name,
        scenario_id,
        baseline_scenario_id
    from compact_keys
),

compared_variables as (
    select distinct
        relation_name,
        variable_key
    from compact_keys
),

failures as (
    select
        relation_name,
        'a key is null' as failure,
        scenario_id,
        concat_ws(' ', variable_key, key_detail, baseline_scenario_id) as detail
    from compact_keys
    where
        scenario_id is null
        or variable_key is null
        or baseline_scenario_id is null
        or has_null_key
    union all
    select
        relation_name,
        'key repeated' as failure,
        scenario_id,
        detail
    from repeated_keys
    union all
    select
        relation_name,
        'scenario or baseline not in dim_scenarios' as failure,
        scenario_id,
        baseline_scenario_id as detail
    from pairs
    where
        not exists (select 1 from scenarios where scenarios.scenario_id = pairs.scenario_id)
        or not exists (
            select 1 from scenarios where scenarios.scenario_id = pairs.baseline_scenario_id
        )
    union all
    select
        relation_name,
        'variable not in dim_variables' as failure,
        null as scenario_id,
        variable_key as detail
    from compared_variables
    where not exists (
        select 1 from variables where variables.variable_key = compared_variables.variable_key
    )
    union all
    select
        relation_name,
        'a key is null, or the statistic is not in statistic_types' as failure,
        scenario_id,
        concat_ws(' ', variable_key, period, statistic_code, baseline_scenario_id) as detail
    from long_comparisons
    where
        scenario_id is null
        or variable_key is null
        or period is null
        or baseline_scenario_id is null
        or not exists (
            select 1 from statistic_types
            where statistic_types.statistic_code = long_comparisons.statistic_code
        )
)

select * from failures
