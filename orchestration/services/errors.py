"""The one shape of a refused request: per field, what to fix. Every service's `...Invalid` is one of these,
so admin views and commands can show any of them the same way.

`AwsError` is re-exported so that faces catch AWS's refusals through the service layer, never by importing
`orchestration.aws` themselves."""

from orchestration.aws.errors import AwsError

__all__ = ["AwsError", "RequestInvalid"]


class RequestInvalid(Exception):
    """The request cannot be sent to AWS as it stands; `errors` says, per field, what to fix."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in errors.items()))
