"""One write: the session that builds the object graph, the batch writer and the delivery of a batch."""
