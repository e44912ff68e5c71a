{#- One row per feature of the demand unit layer (raw_gis.demand_units). -#}
{{ stg_gis_layer('demand_units', 'du_id', 'du_code') }}
