"""Azure subscriptions through Azure Resource Graph and the subscription list. ``catalogue`` (what is read and what
it needs) is plain data; the source (``source``) and its client (``client``) load azure-identity and
azure-mgmt-resourcegraph, so import them only to scan."""
