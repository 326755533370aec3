"""Google Workspace through the Admin SDK and Cloud Identity. ``catalogue`` (what is read and what it needs) is
plain data; the source (``source``) and its client (``client``) load google-api-python-client, which is slow to
import, so import them only to scan."""
