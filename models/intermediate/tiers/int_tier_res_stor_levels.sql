{#-
    RES_STOR: per scenario and tier reservoir (tier_locations), the end-of-April
    storage of each water year (fct_annual_values.apr_value, TAF) against the
    reservoir's three thresholds of tier_rule_parameters: level 1 if the top one
    is met in at least 90 % of the years, 2 if the middle one in 50 %, 3 if the
    low one in 20 % (shares from the seed), else 4. Years without an April value
    are left out of the shares.
-#}
with

locations as (
    select * from {{ ref('tier_locations') }}
),

rule_parameters as (
    select * from {{ ref('tier_rule_parameters') }}
),

annual as (
    select * from {{ ref('fct_annual_values') }}
),

reservoirs as (
    select
        locations.location_code,
        locations.b_part || '/' || locations.c_part as variable_key
    from locations
    where
        locations.indicator_code = 'RES_STOR'
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
    where rule_parameters.indicator_code = 'RES_STOR'
),

periods as (
    select
        annual.scenario_id,
        reservoirs.location_code,
        annual.water_year,
        annual.apr_value as value
    from annual
    inner join reservoirs on annual.variable_key = reservoirs.variable_key
    where
        {#- `= any(array(...))` keeps the scan of fct_annual_values on its key. #}
        annual.variable_key = any(array(select listed.variable_key from reservoirs as listed))
),

final as (
    {{ tier_share_rule_levels('periods', 'parameters', 'min_april_storage', 'TAF', 'min') }}
)

select * from final
