"""The AWS boundary: the only package that imports boto3 or botocore.

Everything else speaks in the dataclasses of `types` and the error classes of `errors`.
"""
