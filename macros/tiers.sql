{#-
    Tier rule helpers (domain.md, "Tiers"). The thresholds live in the seed
    tier_rule_parameters; these macros only say how a row of it is applied, once
    for every indicator.
-#}

{#- The locations of one indicator in the seed tier_locations with the given
    roles (`rated`, `salinity_station`, `export_plant`, ...): location_code,
    role and the variable_key (B/C) of the series that measures it. -#}
{% macro tier_indicator_locations(indicator_code, roles) %}
    select
        locations.location_code,
        locations.role,
        locations.b_part || '/' || locations.c_part as variable_key
    from {{ ref('tier_locations') }} as locations
    where
        locations.indicator_code = '{{ indicator_code }}'
        and locations.role in (
            {%- for role in roles %}'{{ role }}'{{ ", " if not loop.last }}{% endfor -%}
        )
{% endmacro %}

{#- One indicator's rule per rated location of tier_locations and level, from
    the seed tier_rule_parameters: the location's own rows where it has some,
    else the indicator's default rows (location_code `*`). With the columns the
    rule macros below read. -#}
{% macro tier_indicator_parameters(indicator_code) %}
    select
        rule_parameters.indicator_code,
        rated.location_code,
        rule_parameters.tier_level,
        rule_parameters.threshold_comparison,
        rule_parameters.threshold_value,
        rule_parameters.min_share,
        rule_parameters.limit_comparison,
        rule_parameters.limit_value,
        rule_parameters.max_limit_share,
        rule_parameters.requires_baseline_or_better,
        rule_parameters.full_weight_below,
        rule_parameters.zero_weight_above
    from {{ ref('tier_locations') }} as rated
    inner join {{ ref('tier_rule_parameters') }} as rule_parameters
        on
            rated.indicator_code = rule_parameters.indicator_code
            and rule_parameters.location_code = case
                when exists (
                    select own.location_code
                    from {{ ref('tier_rule_parameters') }} as own
                    where
                        own.indicator_code = rated.indicator_code
                        and own.location_code = rated.location_code
                )
                    then rated.location_code
                else '*'
            end
    where
        rated.indicator_code = '{{ indicator_code }}'
        and rated.role = 'rated'
{% endmacro %}

{#- The series (fct_series_values: scenario_id, variable_key, start_month,
    monthly_values, taf_per_cfs_day) whose variable_key is listed in
    `locations` (a relation with variable_key), read through the table's key;
    unnest_monthly_values makes them monthly rows. -#}
{% macro tier_location_series(locations) %}
    select
        series.scenario_id,
        series.variable_key,
        series.start_month,
        series.monthly_values,
        series.taf_per_cfs_day
    from {{ ref('fct_series_values') }} as series
    where
        series.variable_key = any(array(select listed.variable_key from {{ locations }} as listed))
{% endmacro %}

{#- True when `value <comparison> threshold`; `comparison` is an SQL expression
    holding one of >=, >, <, <= (a seed column), NULL when value is NULL. -#}
{% macro tier_compare(value, comparison, threshold) -%}
    (case ({{ comparison }})
        when '>=' then ({{ value }}) >= ({{ threshold }})
        when '>' then ({{ value }}) > ({{ threshold }})
        when '<' then ({{ value }}) < ({{ threshold }})
        when '<=' then ({{ value }}) <= ({{ threshold }})
    end)
{%- endmacro %}

{#- Share rules (RES_STOR, CWS_DEL, FW_DELTA_USES). `periods` is a relation of
    (scenario_id, location_code, value): one row per year or month of a rated
    location, value NULL when missing; `parameters` holds the indicator's rows of
    tier_rule_parameters. Per scenario and location: for each level, the share of
    periods with a value that meet its threshold and the share that violate its
    limit (NULL for a level without a limit); the level is the best one whose share is at least min_share and whose
    limit share is at most max_limit_share (4 if none). Missing periods count in
    neither numerator nor denominator; a location without any value gets no row.
    Shares are exact numerics, so "exactly 90 % of years" meets a 0.9 share.
    metric_value is the worst period: `worst` = 'min' or 'max'. -#}
{% macro tier_share_rule_levels(periods, parameters, metric_code, metric_unit, worst) %}
    select
        shares.scenario_id,
        shares.indicator_code,
        shares.location_code,
        case
            when bool_or(shares.tier_level = 1 and shares.is_met) then 1
            when bool_or(shares.tier_level = 2 and shares.is_met) then 2
            when bool_or(shares.tier_level = 3 and shares.is_met) then 3
            else 4
        end as tier_level,
        '{{ metric_code }}'::text as metric_code,
        '{{ metric_unit }}'::text as metric_unit,
        max(shares.value_count) as value_count,
        (max(shares.met_share) filter (where shares.tier_level = 1))::double precision
            as level_1_share,
        (max(shares.met_share) filter (where shares.tier_level = 2))::double precision
            as level_2_share,
        (max(shares.met_share) filter (where shares.tier_level = 3))::double precision
            as level_3_share,
        (max(shares.limit_share) filter (where shares.tier_level = 1))::double precision
            as level_1_limit_share,
        (max(shares.limit_share) filter (where shares.tier_level = 2))::double precision
            as level_2_limit_share,
        (max(shares.limit_share) filter (where shares.tier_level = 3))::double precision
            as level_3_limit_share,
        max(shares.worst_value) as metric_value,
        null::double precision as baseline_metric_value
    from (
        select
            level_shares.scenario_id,
            level_shares.indicator_code,
            level_shares.location_code,
            level_shares.tier_level,
            level_shares.value_count,
            level_shares.met_share,
            level_shares.limit_share,
            level_shares.worst_value,
            (
                level_shares.met_share >= level_shares.min_share
                and (
                    level_shares.limit_value is null
                    or level_shares.limit_share <= level_shares.max_limit_share
                )
            ) as is_met
        from (
            select
                {{ periods }}.scenario_id,
                {{ parameters }}.indicator_code,
                {{ periods }}.location_code,
                {{ parameters }}.tier_level,
                {{ parameters }}.min_share,
                {{ parameters }}.limit_value,
                {{ parameters }}.max_limit_share,
                count({{ periods }}.value)::integer as value_count,
                count(*) filter (
                    where {{ tier_compare(periods ~ '.value', parameters ~ '.threshold_comparison', parameters ~ '.threshold_value') }}
                )::numeric / count({{ periods }}.value) as met_share,
                case
                    when {{ parameters }}.limit_value is not null
                        then
                            count(*) filter (
                                where {{ tier_compare(periods ~ '.value', parameters ~ '.limit_comparison', parameters ~ '.limit_value') }}
                            )::numeric / count({{ periods }}.value)
                end as limit_share,
                {{ worst }}({{ periods }}.value)::double precision as worst_value
            from {{ periods }}
            inner join {{ parameters }}
                on {{ periods }}.location_code = {{ parameters }}.location_code
            group by
                {{ periods }}.scenario_id,
                {{ parameters }}.indicator_code,
                {{ periods }}.location_code,
                {{ parameters }}.tier_level,
                {{ parameters }}.min_share,
                {{ parameters }}.limit_value,
                {{ parameters }}.max_limit_share
            having count({{ periods }}.value) > 0
        ) as level_shares
    ) as shares
    group by shares.scenario_id, shares.indicator_code, shares.location_code
{% endmacro %}

{#- Value rules (FW_EXP, GW_STOR). `metrics` is a relation of (scenario_id,
    location_code, value_count, metric_value, baseline_metric_value); the level is
    the best one whose row holds for `metric_value <comparison> threshold_value`
    and, where requires_baseline_or_better, metric_value >= baseline_metric_value
    (not met when the baseline's value is unknown); 4 if none. -#}
{% macro tier_value_rule_levels(metrics, parameters, metric_code, metric_unit) %}
    select
        {{ metrics }}.scenario_id,
        {{ parameters }}.indicator_code,
        {{ metrics }}.location_code,
        coalesce(
            min({{ parameters }}.tier_level) filter (
                where {{ tier_compare(metrics ~ '.metric_value', parameters ~ '.threshold_comparison', parameters ~ '.threshold_value') }}
                and (
                    not {{ parameters }}.requires_baseline_or_better
                    or coalesce({{ metrics }}.metric_value >= {{ metrics }}.baseline_metric_value, false)
                )
            ),
            4
        ) as tier_level,
        '{{ metric_code }}'::text as metric_code,
        '{{ metric_unit }}'::text as metric_unit,
        {{ metrics }}.value_count,
        null::double precision as level_1_share,
        null::double precision as level_2_share,
        null::double precision as level_3_share,
        null::double precision as level_1_limit_share,
        null::double precision as level_2_limit_share,
        null::double precision as level_3_limit_share,
        {{ metrics }}.metric_value,
        {{ metrics }}.baseline_metric_value
    from {{ metrics }}
    inner join {{ parameters }}
        on {{ metrics }}.location_code = {{ parameters }}.location_code
    where {{ metrics }}.metric_value is not null
    group by
        {{ metrics }}.scenario_id,
        {{ parameters }}.indicator_code,
        {{ metrics }}.location_code,
        {{ metrics }}.value_count,
        {{ metrics }}.metric_value,
        {{ metrics }}.baseline_metric_value
{% endmacro %}

{#- Every rated location of one indicator for every loaded scenario
    (dim_scenarios.is_loaded): the level the rule gave (`levels`, a relation
    with the standard level columns) or, when it gave none, tier_level NULL and
    the reason in unrated_reason: `no_inputs_reason` when the location has no
    input series at all; `missing input <series>, ...` when the scenario lacks
    a required input (then no level is given, even if the rule could use what
    is there); `no_value_reason` when every input is there but the rule found
    no value to use. `inputs` is a relation of (location_code, input_group,
    group_order, key_order, variable_key): every group of a location is
    required and satisfied by any one of its series (a group of two reads
    `A or B` in the reason). -#}
{% macro tier_rated_results(
    indicator_code, levels, inputs, metric_code, metric_unit, no_value_reason, no_inputs_reason
) %}
    select
        scenarios.scenario_id,
        rated.indicator_code,
        rated.location_code,
        levels.tier_level,
        '{{ metric_code }}'::text as metric_code,
        '{{ metric_unit }}'::text as metric_unit,
        levels.value_count,
        levels.level_1_share,
        levels.level_2_share,
        levels.level_3_share,
        levels.level_1_limit_share,
        levels.level_2_limit_share,
        levels.level_3_limit_share,
        levels.metric_value,
        levels.baseline_metric_value,
        case
            when not exists (
                select listed.location_code
                from {{ inputs }} as listed
                where listed.location_code = rated.location_code
            )
                then '{{ no_inputs_reason }}'
            when missing.missing_inputs is not null
                then 'missing input ' || missing.missing_inputs
            when levels.tier_level is null
                then '{{ no_value_reason }}'
        end as unrated_reason
    from {{ ref('dim_scenarios') }} as scenarios
    cross join {{ ref('tier_locations') }} as rated
    left join (
        select
            missing_groups.scenario_id,
            missing_groups.location_code,
            string_agg(
                missing_groups.group_keys, ', '
                order by missing_groups.group_order, missing_groups.input_group
            ) as missing_inputs
        from (
            select
                loaded_scenarios.scenario_id,
                required.location_code,
                required.input_group,
                required.group_order,
                string_agg(required.variable_key, ' or ' order by required.key_order)
                    as group_keys
            from {{ ref('dim_scenarios') }} as loaded_scenarios
            cross join {{ inputs }} as required
            left join (
                select distinct
                    series.scenario_id,
                    series.variable_key
                from {{ ref('fct_series_values') }} as series
                where
                    series.variable_key = any(
                        array(select listed.variable_key from {{ inputs }} as listed)
                    )
            ) as loaded
                on
                    loaded_scenarios.scenario_id = loaded.scenario_id
                    and required.variable_key = loaded.variable_key
            where loaded_scenarios.is_loaded
            group by
                loaded_scenarios.scenario_id,
                required.location_code,
                required.input_group,
                required.group_order
            having count(loaded.variable_key) = 0
        ) as missing_groups
        group by missing_groups.scenario_id, missing_groups.location_code
    ) as missing
        on
            scenarios.scenario_id = missing.scenario_id
            and rated.location_code = missing.location_code
    left join {{ levels }} as levels
        on
            scenarios.scenario_id = levels.scenario_id
            and rated.location_code = levels.location_code
            and missing.location_code is null
    where
        scenarios.is_loaded
        and rated.indicator_code = '{{ indicator_code }}'
        and rated.role = 'rated'
{% endmacro %}

{#-
    pre_hook of fct_tier_location_results: lists the scenarios whose published
    rows may be kept (temporary table scenario_store_keep, read by the
    scenario_store materialization): the loaded scenarios of `scenarios`
    (dim_scenarios); the rows of a scenario no longer loaded are dropped.
-#}
{% macro tier_keep_loaded_scenarios(scenarios) %}
    drop table if exists pg_temp.scenario_store_keep;
    create temporary table scenario_store_keep as
    select loaded.scenario_id
    from {{ scenarios }} as loaded
    where loaded.is_loaded
{% endmacro %}

{#-
    Per loaded scenario, what its tier location rows are computed from, read
    from metadata (the registry of the per-scenario tables): its latest series
    load, its baseline and the baseline's load (GW_STOR compares with it), and
    parameters_hashes, a fingerprint of the tier seeds and of the scenario's
    delivery parameters (fct_delivery_annual). Columns as
    statistics_comparisons_to_build compares them.
-#}
{% macro tier_scenario_state_sql() %}
    {%- set series_loads = scenario_store_loads('fct_series_values_compact') -%}
    select
        scenarios.scenario_id,
        scenarios.baseline_scenario_id,
        series_loads.loaded_at,
        baseline_loads.loaded_at as baseline_loaded_at,
        md5(
            {{ statistics_parameters_hash([
                ref('tier_indicators'), ref('tier_locations'), ref('tier_rule_parameters'),
                ref('tier_delivered_results'), ref('demand_unit_series')
            ]) }}::text
            || '|' || coalesce(delivery_loads.parameters_hashes, '')
        )::uuid::text as parameters_hashes
    from {{ ref('dim_scenarios') }} as scenarios
    inner join {{ series_loads }} as series_loads
        on scenarios.scenario_id = series_loads.scenario_id
    left join {{ series_loads }} as baseline_loads
        on scenarios.baseline_scenario_id = baseline_loads.scenario_id
    left join {{ scenario_store_loads('fct_delivery_annual') }} as delivery_loads
        on scenarios.scenario_id = delivery_loads.scenario_id
    where scenarios.is_loaded
{% endmacro %}
