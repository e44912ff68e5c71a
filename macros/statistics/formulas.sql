{#-
    The formulas of the outcome statistics, in one place: every statistics
    model and every /rpc/ function calls these (documented in
    _statistics__macros.yml). Each returns an SQL expression or subquery.
-#}

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

{#- The share (0-1) of rows where a boolean is true, among rows where it is not
    NULL; NULL when there is none. -#}
{% macro statistics_share_true(flag) -%}
    (count(*) filter (where {{ flag }}))::double precision / nullif(count({{ flag }}), 0)
{%- endmacro %}

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
