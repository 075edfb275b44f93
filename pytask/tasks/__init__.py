"""One module per pipeline task: reads inputs, orchestrates, writes outputs."""
