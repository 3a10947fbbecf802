"""The one HTTP layer every connector uses: client, retry policy, limits, errors, pages.

No vendor names here: each vendor's folder under `csbridge/connectors/` passes its
own limits and error classifier in.
"""
