{#-
    dim_variables counts each variable's scenarios from one variable list per
    distinct fingerprint (fct_series_inventory); this counts them from every
    stored series: the number of scenarios with the variable must agree, and
    for a variable the seed does not describe its B, C and unit (the smallest
    over scenarios); every stored variable must be there. Reads every series, so `coeqwal audit` runs it.
-#}
{{ config(tags=['audit']) }}
with

from_series as (
    select
        variable_key,
        min(b_part) as b_part,
        min(c_part) as c_part,
        min(unit_code) as unit_code,
        count(distinct scenario_id)::integer as scenario_count
    from {{ ref('fct_series_values') }}
    group by variable_key
),

variables as (
    select * from {{ ref('dim_variables') }}
)

select
    coalesce(from_series.variable_key, variables.variable_key) as variable_key,
    from_series.scenario_count,
    variables.scenario_count as dim_scenario_count
from from_series
full outer join variables on from_series.variable_key = variables.variable_key
where
    from_series.variable_key is null and variables.scenario_count != 0
    or from_series.variable_key is not null and (
        variables.variable_key is null
        or from_series.scenario_count != variables.scenario_count
        or not variables.is_described and (
            from_series.b_part is distinct from variables.b_part
            or from_series.c_part is distinct from variables.c_part
            or from_series.unit_code is distinct from variables.unit_code
        )
    )
