"""Application services (bridges, bots): their registrations, how they authenticate,
the transactions the homeserver pushes to them, and the queries it asks them."""
