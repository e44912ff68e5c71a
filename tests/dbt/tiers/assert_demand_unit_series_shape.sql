-- Every demand unit in demand_unit_series has at least one delivery series,
-- at most one shortage series and at most one demand series (the delivery
-- arcs are summed; a second shortage or demand series would be ambiguous).

with

unit_series as (
    select * from {{ ref('demand_unit_series') }}
),

final as (
    select
        unit_series.du_code,
        count(*) filter (where unit_series.series_role = 'delivery') as delivery_count,
        count(*) filter (where unit_series.series_role = 'shortage') as shortage_count,
        count(*) filter (where unit_series.series_role = 'demand') as demand_count
    from unit_series
    group by unit_series.du_code
    having
        count(*) filter (where unit_series.series_role = 'delivery') = 0
        or count(*) filter (where unit_series.series_role = 'shortage') > 1
        or count(*) filter (where unit_series.series_role = 'demand') > 1
)

select * from final
