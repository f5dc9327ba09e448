"""Reusable test rig: a throwaway PostgreSQL, the strict COPY adapter, CDC file builders."""
