"""AWS through boto3. ``catalogue`` (what is read and the IAM actions it needs) and ``credential_report`` are plain
Python; the source (``source``) and its transport (``transport``) load boto3, which is slow to import, so import
them only to scan."""
