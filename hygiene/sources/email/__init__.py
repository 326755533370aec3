"""Email authentication: the SPF, DMARC and DKIM records (DNS) of the mail domains the identity platforms hold."""
