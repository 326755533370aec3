"""Microsoft 365 through Microsoft Graph. ``catalogue`` (what is read and what it needs) is plain data; the source
(``source``) and its Graph client (``graph``) load msal and requests, so import them only to scan."""
