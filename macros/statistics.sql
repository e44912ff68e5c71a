{#-
    Helpers of the outcome statistics (models/marts/statistics). Each returns an
    SQL expression or query; the formulas live here once and are documented in
    macros/_statistics__macros.yml.
-#}

{#- Water month (1 = October) of the month_index-th value (1-based) of a series
    whose first value is in water month start_water_month. Integer arithmetic:
    no date per value. -#}
{% macro statistics_water_month_at(start_water_month, month_index) -%}
    ((({{ start_water_month }}) + ({{ month_index }})::integer - 2) % 12 + 1)
{%- endmacro %}

{#- Water year of the month_index-th value of a series starting in water year
    start_water_year, water month start_water_month. -#}
{% macro statistics_water_year_at(start_water_year, start_water_month, month_index) -%}
    (({{ start_water_year }}) + (({{ start_water_month }}) + ({{ month_index }})::integer - 2) / 12)
{%- endmacro %}

{#- Coefficient of variation, NULL when |mean| is below the guard. -#}
{% macro statistics_cv(sd, mean, guard) -%}
    (case when abs({{ mean }}) >= ({{ guard }}) then ({{ sd }}) / ({{ mean }}) end)
{%- endmacro %}

{#- Difference in percent of the baseline's magnitude; NULL (not infinity) when
    the baseline is 0 or NULL. -#}
{% macro statistics_percent_difference(value, baseline) -%}
    (case when ({{ baseline }}) <> 0 then 100 * (({{ value }}) - ({{ baseline }})) / abs({{ baseline }}) end)
{%- endmacro %}

{#-
    The moments and sorted values of one group, as select-list items:
    value_count (counted non-NULL values), missing_count (NULL or not counted),
    mean, sd (sample) and sorted_values (the counted non-NULL values ascending,
    which statistics_quantile_array reads). `counted` is a boolean SQL
    expression (default: every row counts).
-#}
{% macro statistics_group_moments(value, counted='true') -%}
    (count({{ value }}) filter (where {{ counted }}))::integer as value_count,
    (count(*) filter (where not ({{ counted }}) or {{ value }} is null))::integer
        as missing_count,
    avg({{ value }}) filter (where {{ counted }}) as mean,
    {#- Equal values have a standard deviation of exactly 0; stddev_samp's
        running sums in double precision leave ~1e-12 of rounding there. #}
    case
        when
            count({{ value }}) filter (where {{ counted }}) > 1
            and min({{ value }}) filter (where {{ counted }})
            = max({{ value }}) filter (where {{ counted }})
            then 0::double precision
        else stddev_samp({{ value }}) filter (where {{ counted }})
    end as sd,
    array_agg({{ value }} order by {{ value }}) filter (
        where ({{ counted }}) and {{ value }} is not null
    ) as sorted_values
{%- endmacro %}

{#-
    0-based position, in the ascending sorted values, of one quantile statistic,
    clamped to [0, n - 1]:
    - percentile at probability p (linear, numpy's default): h = p (n - 1);
    - value exceeded with probability p (plotting position a):
      h = (n - a) - p (n + 1 - 2a), i.e. rank r = p (n + 1 - 2a) + a in
      decreasing order.
-#}
{% macro statistics_quantile_position(value_count, probability, is_exceedance, plotting_position_a) -%}
    least(
        greatest(
            case
                when {{ is_exceedance }}
                    then
                        ({{ value_count }} - {{ plotting_position_a }})
                        - {{ probability }} * ({{ value_count }} + 1 - 2 * {{ plotting_position_a }})
                else {{ probability }} * ({{ value_count }} - 1)
            end,
            0
        ),
        {{ value_count }} - 1
    )
{%- endmacro %}

{#-
    The quantile statistics of one group as an array, in the order of
    parameters.quantile_codes: linear interpolation between the two sorted values
    around each position, written as numpy does it (a + (b - a) t, or
    b - (b - a)(1 - t) when t >= 0.5). `sorted_values` holds the group's non-NULL
    values in ascending order; an empty group gives NULLs.
-#}
{% macro statistics_quantile_array(sorted_values, value_count, parameters) -%}
    array(
        select
            case
                when ({{ value_count }}) = 0 then null
                when quantile_positions.fraction >= 0.5
                    then
                        ({{ sorted_values }})[quantile_positions.lower_index + 2]
                        - (
                            ({{ sorted_values }})[quantile_positions.lower_index + 2]
                            - ({{ sorted_values }})[quantile_positions.lower_index + 1]
                        )
                        * (1 - quantile_positions.fraction)
                else
                    ({{ sorted_values }})[quantile_positions.lower_index + 1]
                    + (
                        coalesce(
                            ({{ sorted_values }})[quantile_positions.lower_index + 2],
                            ({{ sorted_values }})[quantile_positions.lower_index + 1]
                        )
                        - ({{ sorted_values }})[quantile_positions.lower_index + 1]
                    )
                    * quantile_positions.fraction
            end
        from (
            select
                levels.ordinal,
                floor(levels.position)::integer as lower_index,
                levels.position - floor(levels.position) as fraction
            from (
                select
                    quantile_levels.ordinal,
                    {{ statistics_quantile_position(
                        '(' ~ value_count ~ ')',
                        'quantile_levels.probability',
                        'quantile_levels.is_exceedance',
                        parameters ~ '.plotting_position_a'
                    ) }} as position
                from unnest(
                    {{ parameters }}.quantile_probabilities,
                    {{ parameters }}.quantile_is_exceedance
                ) with ordinality as quantile_levels (probability, is_exceedance, ordinal)
            ) as levels
        ) as quantile_positions
        order by quantile_positions.ordinal
    )
{%- endmacro %}

{#-
    A uuid fingerprint of every row of the given relations (seeds and small
    dimensions a statistics model reads). Stored on every row the model writes:
    when an analyst edits one of them, every scenario is rebuilt.
-#}
{% macro statistics_parameters_hash(relations) -%}
    (
        select md5(string_agg(seed_rows.row_text, '|' order by seed_rows.row_text))::uuid
        from (
            {%- for relation in relations %}
                select '{{ relation.identifier }}:' || seed_row::text as row_text
                from {{ relation }} as seed_row
                {%- if not loop.last %}
                    union all
                {%- endif %}
            {%- endfor %}
        ) as seed_rows
    )
{%- endmacro %}

{#-
    Incremental by scenario, aware of parameters: the ids of the scenarios a
    statistics model computes this run, read now from metadata (the registry of
    the per-scenario tables), or none on a first (full) build, which computes
    every scenario. They are the scenarios scenarios_changed_since_last_build
    selects for the loads of `loads_model` (new or re-ingested), plus the
    loaded scenarios whose rows were computed with other parameters (a
    parameters_hash other than the current `hash_column` of
    int_statistics_parameter_hashes: an analyst edited a seed), so a seed edit
    followed by `dbt build` updates every scenario. The models write them as
    literals (statistics_is_to_build): the planner then reads only those
    scenarios' tables, and a build that computes nothing plans nothing.
-#}
{% macro statistics_to_build_ids(hash_column, loads_model='fct_series_values_compact') %}
    {%- if not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set loads = scenario_store_loads(loads_model) -%}
    {%- set query -%}
        {{ scenarios_changed_since_last_build(loads) }}
        union
        select built.scenario_id
        from {{ scenario_store_state() }} as built
        inner join {{ loads }} as latest on built.scenario_id = latest.scenario_id
        where built.parameters_hashes is distinct from (
            select hashes.{{ hash_column }}::text
            from {{ ref('int_statistics_parameter_hashes') }} as hashes
        )
    {%- endset -%}
    {{ return(scenario_ids_of(query)) }}
{% endmacro %}

{#-
    True when `scenario_id` is one of the scenarios a model builds this run:
    `to_build` written as literals (statistics_to_build_ids); `true` on a first
    build (to_build none), which computes every scenario.
-#}
{% macro statistics_is_to_build(scenario_id, to_build) -%}
    {%- if to_build is none -%}
        true
    {%- else -%}
        {{ scenario_id_in(scenario_id, to_build) }}
    {%- endif -%}
{%- endmacro %}

{#-
    Per scenario built this run, the latest raw load behind its series
    (loaded_at of the statistics rows, which drives incremental rebuilds).
-#}
{% macro statistics_scenario_loads(series, to_build) %}
    select
        series_rows.scenario_id,
        max(series_rows.loaded_at) as loaded_at
    from {{ series }} as series_rows
    where {{ statistics_is_to_build('series_rows.scenario_id', to_build) }}
    group by series_rows.scenario_id
{% endmacro %}

{#- The share (0-1) of rows where a boolean is true, among rows where it is not
    NULL; NULL when there is none. -#}
{% macro statistics_share_true(flag) -%}
    (count(*) filter (where {{ flag }}))::double precision / nullif(count({{ flag }}), 0)
{%- endmacro %}

{#-
    The (scenario, baseline) pairs a comparison model must compute: every
    scenario with a baseline in `scenarios` (dim_scenarios), both present in the
    statistics relations (a list of relations or CTE names, each with
    scenario_id, loaded_at, parameters_hash). Columns: scenario_id,
    baseline_scenario_id, loaded_at and baseline_loaded_at (latest load behind
    each side's statistics), parameters_hashes (the distinct parameters_hash
    values of the scenario's statistics, as sorted text).
-#}
{% macro statistics_comparison_pairs(statistics_relations, scenarios) %}
    with statistics_state as (
        select
            statistics_rows.scenario_id,
            max(statistics_rows.loaded_at) as loaded_at,
            string_agg(
                distinct statistics_rows.parameters_hash::text, ','
                order by statistics_rows.parameters_hash::text
            ) as parameters_hashes
        from (
            {%- for relation in statistics_relations %}
                select
                    statistics_relation.scenario_id,
                    statistics_relation.loaded_at,
                    statistics_relation.parameters_hash
                from {{ relation }} as statistics_relation
                {%- if not loop.last %}
                    union all
                {%- endif %}
            {%- endfor %}
        ) as statistics_rows
        group by statistics_rows.scenario_id
    )

    select
        scenario_links.scenario_id,
        scenario_links.baseline_scenario_id,
        current_state.loaded_at,
        baseline_state.loaded_at as baseline_loaded_at,
        current_state.parameters_hashes
    from {{ scenarios }} as scenario_links
    inner join statistics_state as current_state
        on scenario_links.scenario_id = current_state.scenario_id
    inner join statistics_state as baseline_state
        on scenario_links.baseline_scenario_id = baseline_state.scenario_id
    where scenario_links.baseline_scenario_id is not null
{% endmacro %}

{#-
    Of the pairs (a CTE built with statistics_comparison_pairs), the scenarios
    whose comparison rows are missing or stale: the scenario or its baseline was
    rebuilt (another loaded_at), the baseline changed, or the statistics were
    computed with other parameters. A re-ingested baseline so recomputes the
    comparisons of all its alternatives, and nothing else.
    Use inside `{% if is_incremental() %}`.
-#}
{% macro statistics_comparisons_to_build(pairs) %}
    select pairs_to_check.scenario_id
    from {{ pairs }} as pairs_to_check
    left join {{ scenario_store_state() }} as built
        on pairs_to_check.scenario_id = built.scenario_id
    where
        built.scenario_id is null
        or built.baseline_scenario_id is distinct from pairs_to_check.baseline_scenario_id
        or built.loaded_at is distinct from pairs_to_check.loaded_at
        or built.baseline_loaded_at is distinct from pairs_to_check.baseline_loaded_at
        or built.parameters_hashes is distinct from pairs_to_check.parameters_hashes
{% endmacro %}

{#-
    pre_hook of the comparison models: the scenarios whose published comparison
    rows may be kept, i.e. those that still have a loaded baseline in
    `scenarios` (dim_scenarios); a seed edit that made a scenario a baseline, or
    a baseline no longer loaded, drops its rows (see scenario_store).
-#}
{% macro statistics_keep_comparable_scenarios(scenarios) %}
    drop table if exists pg_temp.scenario_store_keep;
    create temporary table scenario_store_keep as
    select scenario_links.scenario_id
    from {{ scenarios }} as scenario_links
    inner join {{ scenarios }} as baseline_links
        on scenario_links.baseline_scenario_id = baseline_links.scenario_id
    where
        scenario_links.is_loaded
        and baseline_links.is_loaded
{% endmacro %}

{#-
    Lateral subquery comparing two aligned arrays (the quantile statistics) in
    one pass: quantile_differences (current - baseline) and
    quantile_percent_differences (statistics_percent_difference, NULL where the
    baseline is 0), in the arrays' order.
-#}
{% macro statistics_array_comparison(current_values, baseline_values) -%}
    (
        select
            array_agg(
                aligned.current_value - aligned.baseline_value order by aligned.ordinal
            ) as quantile_differences,
            array_agg(
                {{ statistics_percent_difference('aligned.current_value', 'aligned.baseline_value') }}
                order by aligned.ordinal
            ) as quantile_percent_differences
        from unnest({{ current_values }}, {{ baseline_values }}) with ordinality
            as aligned (current_value, baseline_value, ordinal)
    )
{%- endmacro %}

{#-
    Lateral subquery unpivoting one compact statistics row (alias `compact`)
    into (statistic_code, value) rows: mean, sd, cv, then the quantile
    statistics named by parameters.quantile_codes.
-#}
{% macro statistics_unpivot(compact, parameters) -%}
    (
        select
            'mean' as statistic_code,
            {{ compact }}.mean as value
        union all
        select
            'sd' as statistic_code,
            {{ compact }}.sd as value
        union all
        select
            'cv' as statistic_code,
            {{ compact }}.cv as value
        union all
        select
            quantiles.statistic_code,
            quantiles.value
        from unnest({{ parameters }}.quantile_codes, {{ compact }}.quantile_values)
            as quantiles (statistic_code, value)
    )
{%- endmacro %}

{#-
    Lateral subquery unpivoting one compact comparison row (both sides' values,
    the differences) into (statistic_code, value, baseline_value, difference,
    percent_difference) rows.
-#}
{% macro statistics_unpivot_comparison(comparison, parameters) -%}
    (
        {%- for moment in ['mean', 'sd', 'cv'] %}
        select
            '{{ moment }}' as statistic_code,
            {{ comparison }}.{{ moment }} as value,
            {{ comparison }}.baseline_{{ moment }} as baseline_value,
            {{ comparison }}.{{ moment }}_difference as difference,
            {{ comparison }}.{{ moment }}_percent_difference as percent_difference
        union all
        {%- endfor %}
        select
            quantiles.statistic_code,
            quantiles.value,
            quantiles.baseline_value,
            quantiles.difference,
            quantiles.percent_difference
        from unnest(
            {{ parameters }}.quantile_codes,
            {{ comparison }}.quantile_values,
            {{ comparison }}.baseline_quantile_values,
            {{ comparison }}.quantile_differences,
            {{ comparison }}.quantile_percent_differences
        ) as quantiles (statistic_code, value, baseline_value, difference, percent_difference)
    )
{%- endmacro %}
