{#-
    Water-year calendar and unit helpers (domain.md). Each takes SQL expressions
    and returns an SQL expression; the rules live here once.
-#}

{#- The water year runs October-September and is named by the year it ends in. -#}
{% macro water_year(month_date) -%}
    (extract(year from ({{ month_date }})::date + interval '3 months')::integer)
{%- endmacro %}

{#- Water month 1 = October ... 12 = September. -#}
{% macro water_month(month_date) -%}
    ((extract(month from ({{ month_date }})::date)::integer + 2) % 12 + 1)
{%- endmacro %}

{% macro days_in_month(month_date) -%}
    (extract(
        day from date_trunc('month', ({{ month_date }})::date) + interval '1 month' - interval '1 day'
    )::integer)
{%- endmacro %}

{#- A monthly mean flow (CFS) as a monthly volume (TAF): CFS x days x 86400 / 43560 / 1000.
    `taf_per_cfs_day` comes from the units seed, so non-flows (NULL factor) give NULL. -#}
{% macro cfs_to_taf(value, month_date, taf_per_cfs_day) -%}
    (({{ value }})::double precision * {{ days_in_month(month_date) }} * ({{ taf_per_cfs_day }}))
{%- endmacro %}
