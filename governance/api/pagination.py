from rest_framework.pagination import CursorPagination


class StablePagination(CursorPagination):
    """Cursor pagination: stable under inserts, never more than one page (max 200 items)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-pk"
