{#-
    The comparison views, read once each for the scenarios this build computed:
    every key present, no key twice, scenarios, baselines, variables and
    statistic codes known. The per-column tests of these views check the same
    one column at a time and so recompute the comparisons once per test (7-9 s
    each for a full-size alternative): they carry the tag audit, and
    `coeqwal audit` runs them on every scenario. The long view
    fct_series_comparisons unpivots the compact one: it is read for one series
    of each scenario. api_comparisons (a projection of fct_series_comparisons)
    is not read here: a build that selects the statistics but not the api
    schema replaces tables the api view reads, which drops the view until the
    build ends, and a test of this node runs whenever one of its parents is
    selected. Its own tests run in `coeqwal audit`.
-#}
{%- set scope_ids = scenario_scope_ids() -%}
{%- set first_variable -%}
    select min(statistics.variable_key)
    from {{ ref('fct_series_statistics_compact') }} as statistics
    where {{ scenario_scope_condition('statistics.scenario_id', scope_ids) }}
{%- endset -%}
{%- set sampled = [] if scope_ids == [] else scenario_ids_of(first_variable) %}

with

series_comparisons as materialized (
    select
        scenario_id,
        variable_key,
        period,
        baseline_scenario_id
    from {{ scenario_scoped(ref('fct_series_comparisons_compact')) }} as comparisons
),

year_type_comparisons as materialized (
    select
        scenario_id,
        variable_key,
        year_type_source,
        year_type_code,
        period,
        baseline_scenario_id
    from {{ scenario_scoped(ref('fct_year_type_comparisons_compact')) }} as comparisons
),

long_comparisons as (
    select
        'fct_series_comparisons' as relation_name,
        scenario_id,
        variable_key,
        period,
        statistic_code,
        baseline_scenario_id
    from {{ scenario_scoped(
        ref('fct_series_comparisons'), condition=scenario_id_in('variable_key', sampled)
    ) }} as comparisons
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
        pairs.relation_name,
        'scenario or baseline not in dim_scenarios' as failure,
        pairs.scenario_id,
        pairs.baseline_scenario_id as detail
    from pairs
    left join scenarios as compared on pairs.scenario_id = compared.scenario_id
    left join scenarios as baselines on pairs.baseline_scenario_id = baselines.scenario_id
    where compared.scenario_id is null or baselines.scenario_id is null
    union all
    select
        compared_variables.relation_name,
        'variable not in dim_variables' as failure,
        null as scenario_id,
        compared_variables.variable_key as detail
    from compared_variables
    left join variables on compared_variables.variable_key = variables.variable_key
    where variables.variable_key is null
    union all
    select
        long_comparisons.relation_name,
        'a key is null, or the statistic is not in statistic_types' as failure,
        long_comparisons.scenario_id,
        concat_ws(
            ' ',
            long_comparisons.variable_key,
            long_comparisons.period,
            long_comparisons.statistic_code,
            long_comparisons.baseline_scenario_id
        ) as detail
    from long_comparisons
    left join statistic_types
        on long_comparisons.statistic_code = statistic_types.statistic_code
    where
        long_comparisons.scenario_id is null
        or long_comparisons.variable_key is null
        or long_comparisons.period is null
        or long_comparisons.baseline_scenario_id is null
        or statistic_types.statistic_code is null
)

select * from failures
