{#- Read from raw_dss.dss_loads, or from the series where a database landed
    them before that table existed (macros/incremental_by_scenario.sql). #}
-- depends_on: {{ source('raw_dss', 'dss_loads') }}, {{ source('raw_dss', 'dss_series') }}
select * from ({{ raw_dss_loads_sql() }}) as raw_loads
