{#-
    RES_STOR: per loaded scenario and tier reservoir (tier_locations), the
    end-of-April storage of each water year (fct_annual_values.apr_value, TAF)
    against the reservoir's three thresholds of tier_rule_parameters: level 1
    if the top one is met in at least 90 % of the years, 2 if the middle one in
    50 %, 3 if the low one in 20 % (shares from the seed), else 4. Years
    without an April value are left out of the shares. A reservoir whose
    storage series is not loaded has no level and says so (unrated_reason).
-#}
with

annual as (
    select * from {{ ref('fct_annual_values') }}
),

reservoirs as (
    {{ tier_indicator_locations('RES_STOR', ['rated']) }}
),

parameters as (
    {{ tier_indicator_parameters('RES_STOR') }}
),

inputs as (
    select
        reservoirs.location_code,
        reservoirs.variable_key as input_group,
        1 as group_order,
        1 as key_order,
        reservoirs.variable_key
    from reservoirs
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
        {#- `= any(array(...))` keeps the scan on fct_annual_values_compact's key. #}
        annual.variable_key = any(array(select listed.variable_key from reservoirs as listed))
),

levels as (
    {{ tier_share_rule_levels('periods', 'parameters', 'min_april_storage', 'TAF', 'min') }}
),

final as (
    {{ tier_rated_results(
        'RES_STOR', 'levels', 'inputs', 'min_april_storage', 'TAF',
        'no April storage value', 'no storage series for this reservoir'
    ) }}
)

select * from final
