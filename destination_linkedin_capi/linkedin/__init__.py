"""LinkedIn's REST API: one client with one retry loop, the token providers, ad accounts and conversion rules.

Nothing here imports the Airbyte CDK."""
