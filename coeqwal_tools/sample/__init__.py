"""Synthetic inputs for tests and `coeqwal run`: CalSim-like DSS files and GIS layers."""
