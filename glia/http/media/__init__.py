"""The content repository's HTTP endpoints (``/_matrix/media/…`` and the authenticated
``/_matrix/client/v1/media/…``)."""
