{{ stg_gis_layer('water_budget_areas', 'water_budget_area_id', 'wba_code') }}
