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

{#- Integer arithmetic for positional series (the month_index-th value, 1-based, of a
    series whose first month is start_month), so that a model aggregating whole
    arrays needs no date arithmetic per value. Same rules as the macros above. -#}

{#- Water month of the month_index-th value. -#}
{% macro water_month_at(start_water_month, month_index) -%}
    ((({{ start_water_month }}) + ({{ month_index }})::integer - 2) % 12 + 1)
{%- endmacro %}

{#- Water year of the month_index-th value of a series starting in water year
    start_water_year, water month start_water_month. -#}
{% macro water_year_at(start_water_year, start_water_month, month_index) -%}
    (({{ start_water_year }}) + (({{ start_water_month }}) + ({{ month_index }})::integer - 2) / 12)
{%- endmacro %}

{#- Days in the calendar month of water month `water_month` of water year
    `water_year` (February has 29 days in leap years: divisible by 4, and not by
    100 unless by 400). October-December belong to the calendar year before. -#}
{% macro days_in_water_month(water_year, water_month) -%}
    (case ({{ water_month }})
        when 5 then
            case
                when ({{ water_year }}) % 4 = 0
                    and (({{ water_year }}) % 100 <> 0 or ({{ water_year }}) % 400 = 0)
                    then 29
                else 28
            end
        when 1 then 31 when 2 then 30 when 3 then 31 when 4 then 31 when 6 then 31
        when 7 then 30 when 8 then 31 when 9 then 30 when 10 then 31 when 11 then 31
        else 30
    end)
{%- endmacro %}
