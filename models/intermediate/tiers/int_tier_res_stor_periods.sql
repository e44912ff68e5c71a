{#-
    Years, not a level (the rule is int_tier_rule_levels'): this model only
    says which value of a year counts. A year without an April value is
    missing, not empty, so it stays out of the shares rather than failing them.
-#}
with

annual as (
    select * from {{ ref('fct_annual_values') }}
),

reservoirs as (
    {{ tier_indicator_locations('RES_STOR', ['rated']) }}
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
        null::date as month_date,
        annual.apr_value as value
    from annual
    inner join reservoirs on annual.variable_key = reservoirs.variable_key
    where
        {#- `= any(array(...))` keeps the scan on fct_annual_values_compact's key. #}
        annual.variable_key = any(array(select listed.variable_key from reservoirs as listed))
),

final as (
    {{ tier_tagged_rows(
        'RES_STOR', 'periods', ['water_year', 'month_date', 'value'], 'inputs',
        'min_april_storage', 'TAF',
        'no April storage value', 'no storage series for this reservoir'
    ) }}
)

select * from final
