"""HEC-DSS reading and loading."""
