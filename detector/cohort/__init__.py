"""Many nights: batches (resumable, on any executor) and trends with the diary."""
