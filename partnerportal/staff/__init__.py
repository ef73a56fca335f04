"""The partner staff console: the Django admin site's registrations, its forms and its templates.

A face: it calls orchestration services and reads tenants models and selectors; nothing below imports it.
"""
