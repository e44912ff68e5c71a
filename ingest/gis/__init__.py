"""GIS layers (Shapefile, GeoPackage, GeoJSON): reading, repair and loading into raw_gis."""
