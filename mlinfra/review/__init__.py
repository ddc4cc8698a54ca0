"""Reviewers' commands over plans: the policy pack run offline (`check`), the rights the pipelines'
identities need (`permissions`) and adopting objects that already exist (`adopt`)."""
