{#-
    The staging query of one GIS layer landed by `coeqwal ingest gis` in
    raw_gis.<layer_name>: the layer's id attribute trimmed into `code_column`,
    the geometry decoded from hex EWKB as MultiPolygon in EPSG:4326. Before the
    layer's first ingest the raw table does not exist: the query then reads an
    empty relation of the same columns, so the project builds (and its tests
    pass) without GIS data.
-#}
{% macro stg_gis_layer(layer_name, id_column, code_column) %}
{%- set raw_layer = source('raw_gis', layer_name) -%}
{%- set empty_layer -%}
(
    select
        null::integer as feature_index,
        null::text as {{ id_column }},
        null::text as geometry_ewkb,
        null::text as source_file,
        null::text as source_sha256,
        null::timestamptz as ingested_at
    where false
)
{%- endset -%}
{%- set is_landed = execute and load_relation(raw_layer) is not none -%}

with

source as (
    select
        layer.feature_index,
        layer.{{ id_column }},
        layer.geometry_ewkb,
        layer.source_file,
        layer.source_sha256,
        layer.ingested_at
    from {{ raw_layer if is_landed else empty_layer }} as layer
),

final as (
    select
        source.feature_index,
        nullif(trim(source.{{ id_column }}), '') as {{ code_column }},
        source.source_file,
        source.source_sha256,
        source.ingested_at at time zone 'UTC' as loaded_at,
        st_multi(
            st_geomfromewkb(decode(source.geometry_ewkb, 'hex'))
        )::geometry (multipolygon, 4326) as geom
    from source
)

select * from final
{% endmacro %}
