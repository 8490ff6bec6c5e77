"""Price what you deploy: infrastructure code in, cost breakdown and cost diff out.

SAM and CloudFormation templates, Terraform plan JSON and Amazon States Language
definitions become the architectures :func:`costmodel.compare` and
:func:`costmodel.simulate` take; a usage file in Infracost's form (plus distributions)
says how much each resource is used. YAML needs the ``iac`` extra (PyYAML).
"""
