"""Offline Terraform checks: Terraform core, provider installation and an archive provider stand-in.

Nothing here is imported by the Lambda package; it exists so that every `.tf` file in the repository
meets real Terraform core and real provider schemas on machines that cannot reach the registry.
"""
