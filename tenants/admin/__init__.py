"""Partner staff's admin for customers and their resources, one module per aggregate.

AWS-owned fields are read-only; changes to AWS go through audited services (admin actions and forms).
"""

from . import accounts, bundles, customers, desktops, directories, images, policies, tokens  # noqa: F401
