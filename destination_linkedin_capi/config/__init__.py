"""The connector's configuration: the validated model read from the user's JSON and its storage settings."""
