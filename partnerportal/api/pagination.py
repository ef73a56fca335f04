"""Cursor pagination: stable pages however rows are added meanwhile; a cursor we did not give is a 400."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination

from partnerportal.api.problems import InvalidCursor


class ApiCursorPagination(CursorPagination):
    """`?cursor=` from the previous page's `next`; `page_size` 1 to 500 (default 100)."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("-created_at", "-pk")
    invalid_cursor_message = "The cursor is not one this API gave out."

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except Exception as exc:  # DRF raises NotFound (404) for a bad cursor; it is the client's mistake
            raise InvalidCursor() from exc

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DjangoValidationError, ValueError, TypeError, OverflowError) as exc:
            # A cursor that decodes but whose position is not a value of the ordering's column.
            if request.query_params.get(self.cursor_query_param):
                raise InvalidCursor() from exc
            raise

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({"page_size": [f"A whole number from 1 to {self.max_page_size}."]})
        return int(raw)
