"""COEQWAL scenario warehouse: Python lands data (DSS, GIS) and drives dbt."""

__version__ = "0.1.0"
