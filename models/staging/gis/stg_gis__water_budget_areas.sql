{#- One row per feature of the water budget area layer (raw_gis.water_budget_areas). -#}
{{ stg_gis_layer('water_budget_areas', 'water_budget_area_id', 'wba_code') }}
