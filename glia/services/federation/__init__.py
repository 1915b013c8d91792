"""Federation (the Server-Server API): keys, request signing and verification, server
discovery, the outbound client and the inbound queries that need no room joining."""
