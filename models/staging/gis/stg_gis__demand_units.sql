{{ stg_gis_layer('demand_units', 'du_id', 'du_code') }}
